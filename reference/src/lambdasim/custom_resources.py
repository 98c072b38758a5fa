"""CloudFormation's side of Lambda-backed custom resources, on the virtual clock.

https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources.html :
for a custom resource (`AWS::CloudFormation::CustomResource` or `Custom::<Name>`) whose
ServiceToken is a Lambda function ARN, CloudFormation invokes the function asynchronously
(https://docs.aws.amazon.com/lambda/latest/dg/services-cloudformation.html) with a request
(Create, Update or Delete) and waits for the function to PUT its response to the request's
presigned ResponseURL; no response before ServiceTimeout (default one hour) fails the stack
operation. Here the request is an asynchronous invocation of the simulator's Lambda service (a
recorded invocation, with the async queue's retries), the response URLs are the simulator's own
(`https://cloudformation-custom-resource-response-<region>.lambdasim.invalid/...`, caught in
process by `lambdasim._moto_patches.custom_resources` whatever HTTP client makes the PUT), and
the wait runs the simulation forward: the deploy takes the virtual time the function takes,
and an hour of it when the function never answers. The rules are in `rules.custom_resources`.

`sim.custom_resources.requests` keeps every request sent, with its response and outcome.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .clock import seconds_to_micros
from .errors import SimulatorError
from .rules import custom_resources as cr

if TYPE_CHECKING:
    from .async_queue import AsyncEvent
    from .service import LambdaService

# Never resolvable (RFC 2606's .invalid): a PUT that escapes the interception fails at once
# instead of reaching any host.
RESPONSE_HOST_SUFFIX = ".lambdasim.invalid"


class CustomResourceFailed(SimulatorError):
    """A custom resource's request failed (FAILED response, invalid response, no response, or
    a template CloudFormation refuses); the stack operation fails with `reason`."""

    def __init__(self, logical_id: str, resource_type: str, reason: str,
                 response: cr.ProviderResponse | None = None):
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason
        self.response = response  # the FAILED answer, when the function sent one
        super().__init__(f"{logical_id} ({resource_type}): {reason}")


@dataclass(eq=False)
class CustomResourceRequest:
    """One request CloudFormation sent to a custom resource's function, and what came of it."""

    request_type: str  # Create, Update, Delete
    logical_id: str
    resource_type: str
    stack_id: str
    request_id: str
    function_arn: str
    event: dict[str, Any]
    sent_us: int
    deadline_us: int
    async_event: AsyncEvent | None = None
    response: cr.ProviderResponse | None = None
    responded_us: int | None = None
    timed_out: bool = False

    @property
    def outcome(self) -> str:
        """SUCCESS, FAILED, TIMED_OUT, or PENDING while CloudFormation waits."""
        if self.response is not None:
            return self.response.status
        return "TIMED_OUT" if self.timed_out else "PENDING"


@dataclass(frozen=True)
class StrayResponse:
    """A PUT to a response URL no pending request waits for (answered 200, as S3 answers a
    presigned PUT, and ignored)."""

    at_us: int
    url: str
    body: bytes


class CustomResources:
    """Sends the requests of Lambda-backed custom resources and receives their responses."""

    def __init__(self, service: LambdaService, region: str, ids: Random):
        self._service = service
        self.region = region
        self._ids = ids
        self.requests: list[CustomResourceRequest] = []
        self.stray_responses: list[StrayResponse] = []
        self._pending: dict[str, CustomResourceRequest] = {}
        # Called with the function's ARN before each request: a deploy maps a function it has
        # just created to its local code (`lambdasim.sam`), before the stack is complete.
        self.before_request: Callable[[str], None] | None = None

    @property
    def response_host(self) -> str:
        return f"cloudformation-custom-resource-response-{self.region.replace('-', '')}{RESPONSE_HOST_SUFFIX}"

    @staticmethod
    def hears(host: str) -> bool:
        """Whether an HTTP request to `host` (a port may follow) is a custom resource's response."""
        return host.split(":", 1)[0].lower().endswith(RESPONSE_HOST_SUFFIX)

    def request(
        self,
        request_type: str,
        *,
        account_id: str,
        stack_id: str,
        logical_id: str,
        resource_type: str,
        properties: dict[str, Any],
        physical_id: str | None = None,
        old_properties: dict[str, Any] | None = None,
    ) -> cr.ProviderResponse:
        """Send one request, wait for the response on the virtual clock and return it (SUCCESS).

        Raises `CustomResourceFailed` for a FAILED or invalid response, no response within the
        ServiceTimeout, or a ServiceToken CloudFormation refuses.
        """
        def failed(reason: str) -> CustomResourceFailed:
            return CustomResourceFailed(logical_id, resource_type, reason)

        token = properties.get("ServiceToken")
        problem = cr.service_token_problem(token, self.region)
        if problem is not None:
            raise failed(problem)
        try:
            timeout_s = cr.service_timeout_s(properties)
        except cr.CustomResourceError as e:
            raise failed(str(e)) from None
        self._require_driver(logical_id, resource_type)
        request_id = str(uuid.UUID(int=self._ids.getrandbits(128), version=4))
        url = f"https://{self.response_host}{cr.response_path(stack_id, logical_id, request_id)}" \
              f"?X-Amz-Expires=7200&X-Amz-SignedHeaders=host"
        event = cr.request_event(request_type, service_token=str(token), response_url=url, stack_id=stack_id,
                                 request_id=request_id, logical_id=logical_id, resource_type=resource_type,
                                 properties=properties, physical_id=physical_id, old_properties=old_properties)
        now = self._service.scheduler.now_us
        sent = CustomResourceRequest(request_type, logical_id, resource_type, stack_id, request_id, str(token),
                                     event, now, now + seconds_to_micros(timeout_s))
        if self.before_request is not None:
            self.before_request(str(token))
        try:
            sent.async_event = self._service.enqueue_by_arn(account_id, str(token), json.dumps(event).encode("utf-8"),
                                                            source="cloudformation")
        except Exception as missing:  # moto's ResourceNotFoundException
            raise failed(f"ServiceToken {token}: the function cannot be invoked ({missing})") from None
        self.requests.append(sent)
        self._pending[request_id] = sent
        try:
            self._wait(sent)
        finally:
            self._pending.pop(request_id, None)
        if sent.response is None:
            sent.timed_out = True
            raise failed(cr.timeout_reason(timeout_s))
        if not sent.response.succeeded:
            raise CustomResourceFailed(logical_id, resource_type, cr.failed_reason(sent.response.reason), sent.response)
        return sent.response

    def _require_driver(self, logical_id: str, resource_type: str) -> None:
        # CloudFormation's wait is virtual time passing, which only the driving code can make pass.
        if self._service.runtime.current_frame is not None or self._service.scheduler.dispatching:
            raise CustomResourceFailed(
                logical_id, resource_type,
                "a stack with custom resources is created, updated or deleted by the code driving the "
                "simulation, not from handler code or a scheduled call: CloudFormation waits for the "
                "function's response on the virtual clock")

    def _wait(self, sent: CustomResourceRequest) -> None:
        """Run the simulation until the response arrives or the deadline passes; then stand at
        the response's time (the PUT happened during the invocation)."""
        scheduler = self._service.scheduler
        while sent.response is None:
            due = scheduler.next_due_us()
            if due is None or due > sent.deadline_us:
                scheduler.run_until(sent.deadline_us)
                break
            scheduler.run_until(due)
        if sent.responded_us is not None and sent.responded_us > scheduler.now_us:
            scheduler.run_until(sent.responded_us)

    def receive(self, url: str, body: bytes) -> None:
        """A PUT to a response URL (from the HTTP interception)."""
        now = self._service.clock.micros  # inside an invocation: the invocation's own time
        parts = unquote(urlsplit(url).path.lstrip("/")).split("|")
        sent = self._pending.get(parts[-1]) if len(parts) == 3 else None
        if sent is None or sent.response is not None:
            self.stray_responses.append(StrayResponse(now, url, body))
            return
        sent.response = cr.parse_response(body)
        sent.responded_us = now

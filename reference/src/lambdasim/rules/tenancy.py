"""Rules of Lambda's tenant isolation mode: TenancyConfig, Invoke's tenant id, the per-tenant
environments and their limit.

Pure functions and constants. Sources:

- https://docs.aws.amazon.com/lambda/latest/dg/tenant-isolation.html : with tenant isolation
  mode, Lambda routes each invocation by its tenant identifier to execution environments that
  serve only that tenant: it looks for an available environment of the tenant and creates one
  when there is none.
- https://docs.aws.amazon.com/lambda/latest/api/API_TenancyConfig.html : TenancyConfig's only
  member is TenantIsolationMode, valid value PER_TENANT; it cannot be modified after the
  function is created (UpdateFunctionConfiguration has no TenancyConfig;
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-function-tenancyconfig.html :
  a change requires replacement).
- https://docs.aws.amazon.com/lambda/latest/dg/tenant-isolation-invoke.html : invoking a function
  with tenant isolation enabled needs a tenant id, the `X-Amz-Tenant-Id` header
  (botocore: Invoke's `TenantId`, 1-256 characters of `[a-zA-Z0-9._:/=+-@ ]`), for synchronous and
  asynchronous invocations alike.
- https://docs.aws.amazon.com/lambda/latest/dg/tenant-isolation-troubleshooting.html : invoking a
  tenant-isolated function without a tenant id, or a function without tenant isolation with one,
  fails with InvalidParameterValueException; Lambda keeps at most 2,500 tenant-aware execution
  environments (active or idle) for every 1,000 concurrent executions of the function, and
  refuses more with TooManyRequestsException ("Rate exceeded").
- https://docs.aws.amazon.com/lambda/latest/dg/tenant-isolation-context.html : the tenant id is
  the context object's `tenant_id` during the invocation phase, not during INIT.

Modelling choices: the 400's message is the troubleshooting page's error text (AWS's exact
wording per case is not documented); the environment limit is taken in proportion to the
function's concurrency (its reserved concurrency, else the account's), rounded down; the 429 of
that limit carries the account-level Reason (AWS documents none for it).
"""

from __future__ import annotations

import re
from typing import Any, Final

from .concurrency import REASON_ACCOUNT

PER_TENANT: Final = "PER_TENANT"
TENANT_ID_MAX_LENGTH: Final = 256
TENANT_ID_PATTERN: Final = re.compile(r"[a-zA-Z0-9._:/=+\-@ ]+")
TENANT_ENVIRONMENTS_PER_1000_CONCURRENCY: Final = 2500
TENANT_LIMIT_REASON: Final = REASON_ACCOUNT  # undocumented for this limit (see above)
INVALID_TENANT_CODE: Final = "InvalidParameterValueException"
INVALID_TENANT_MESSAGE: Final = ("Tenant ID configuration not specified or passed to a function when tenant "
                                 "isolation is not enabled.")


def isolates_tenants(tenancy_config: dict[str, Any] | None) -> bool:
    """True for a function created with TenancyConfig {TenantIsolationMode: PER_TENANT}."""
    return bool(tenancy_config) and (tenancy_config or {}).get("TenantIsolationMode") == PER_TENANT


def tenant_id_problem(isolated: bool, tenant_id: str | None) -> str | None:
    """Why Invoke refuses this tenant id for this function (400 InvalidParameterValueException),
    or None: a tenant-isolated function needs one, any other function must not get one."""
    if isolated != (tenant_id is not None):
        return INVALID_TENANT_MESSAGE
    if tenant_id is not None and (len(tenant_id) > TENANT_ID_MAX_LENGTH
                                  or not TENANT_ID_PATTERN.fullmatch(tenant_id)):
        return (f"1 validation error detected: Value '{tenant_id}' at 'tenantId' failed to satisfy constraint: "
                f"Member must have length less than or equal to {TENANT_ID_MAX_LENGTH} and match pattern "
                f"{TENANT_ID_PATTERN.pattern}")
    return None


def max_tenant_environments(function_concurrency: int) -> int:
    """Tenant-aware environments (active or idle) a function may have at once."""
    return function_concurrency * TENANT_ENVIRONMENTS_PER_1000_CONCURRENCY // 1000

"""lambdasim: a local AWS Lambda service on moto, on a virtual clock, reproducible from a seed.

    from lambdasim import Simulator

    with Simulator(seed=7) as sim:
        sim.create_function(FunctionName="hello", Handler="handlers.hello", code_dir="src/")
        boto3.client("lambda").invoke(FunctionName="hello", Payload=b"{}")

See README.md in this folder for what is modelled and what is not yet.
"""

from .clock import ScheduledCall
from .context import LambdaContext
from .dynamodb_capacity import CapacityRefusal, DynamoDBLimits
from .environments import ExecutionEnvironment, ThrottleRecord
from .errors import MotoVersionMismatch, SimulatorAlreadyRunning, SimulatorError, SimulatorNotRunning, Throttled
from .faults import AWSError, ConditionalCheckFailed, FaultInjector, NoAnswer, PartialFailure, ServerError, Throttle
from .functions import placeholder_zip
from .kinesis_throughput import KinesisThrottle
from .rules.kinesis import KinesisLimits
from .rules.sqs_fifo import SqsFifoLimits
from .runtime import InvocationRecord
from .simulator import Simulator, active_simulator

__all__ = [
    "AWSError",
    "CapacityRefusal",
    "ConditionalCheckFailed",
    "DynamoDBLimits",
    "FaultInjector",
    "NoAnswer",
    "PartialFailure",
    "ServerError",
    "Throttle",
    "ExecutionEnvironment",
    "InvocationRecord",
    "KinesisLimits",
    "KinesisThrottle",
    "LambdaContext",
    "MotoVersionMismatch",
    "ScheduledCall",
    "Simulator",
    "SimulatorAlreadyRunning",
    "SimulatorError",
    "SimulatorNotRunning",
    "SqsFifoLimits",
    "ThrottleRecord",
    "Throttled",
    "active_simulator",
    "placeholder_zip",
]

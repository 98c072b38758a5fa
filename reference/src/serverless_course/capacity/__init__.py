"""The capacity model of module 0: Lambda, SQS and EventBridge at scales moto cannot serve,
played on a virtual clock with the simulator's own rules (`lambdasim.rules`)."""

from . import arrivals
from .model import CapacityModel, Function, FunctionStats, QueueStats, Result, Timeline

__all__ = ["CapacityModel", "Function", "FunctionStats", "QueueStats", "Result", "Timeline", "arrivals"]

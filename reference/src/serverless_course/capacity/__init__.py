"""The capacity model of module 0: Lambda, SQS and EventBridge at scales moto cannot serve,
played on a virtual clock with the simulator's own rules (`lambdasim.rules`)."""

from . import arrivals
from .model import CapacityModel, Function, FunctionStats, QueueStats, Result, Timeline
from .pipeline import PipelineResult, Slo, run_pipeline

__all__ = ["CapacityModel", "Function", "FunctionStats", "PipelineResult", "QueueStats", "Result", "Slo", "Timeline",
           "arrivals", "run_pipeline"]

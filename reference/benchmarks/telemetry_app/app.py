"""A handler that writes like a typical one: two log lines and one EMF document per invocation."""

import json
import time


def handler(event, context):
    print(f"processing {event.get('n')}")
    print(json.dumps({"level": "INFO", "message": "done", "n": event.get("n")}))
    if event.get("emf"):
        print(json.dumps({
            "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [
                {"Namespace": "Bench", "Dimensions": [["service"]], "Metrics": [{"Name": "Items", "Unit": "Count"}]}]},
            "service": "bench", "Items": 1}))
    return {"ok": True}

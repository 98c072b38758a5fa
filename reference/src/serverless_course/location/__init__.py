"""Module 6, real-time location tracking: the fleet pipeline (one SAM template, ``template.yaml``:
IoT topic rule -> Kinesis -> position and history consumers -> DynamoDB and EventBridge), the fix
contract and geofences the consumers share (``fixes``, ``geofences.json``), a seeded fleet
(``fleet``), the ground truth computed from its fixes alone (``truth``), and the run that
publishes a fleet through the deployed pipeline and audits it (``run``).
"""

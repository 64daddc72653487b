"""A sweep on a Ray cluster: the Jobs API client (`jobs`: `fnosweep submit`) and the
job's entry point on the head node (`entry`: `python -m fnosweep.cluster.entry spec.yaml`).
Ray is imported inside the functions that need it, so the CLI stays light."""

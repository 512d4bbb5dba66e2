# dzl on a real Temporal cluster, on this machine: included by the Makefile.
#   make cluster-up       build the Temporal server into .tools/ (once), create the schemas, start
#                         Temporal's four services, two routers and two workers as separate processes
#   make cluster-status   one line per process: up/down, pid, ports
#   make cluster-smoke    carry applications through the running cluster end to end, then check
#                         that Temporal's PostgreSQL holds no plaintext personal data
#   make cluster-ui       the operators' Temporal Web UI, payloads decoded by dzl's codec server
#                         for signed-in operators only (node dist/deploy/bin/operatorLink.js <id>)
#   make cluster-ui-check headless Chromium: an operator who has not signed in sees ciphertext,
#                         a signed-in one the decoded ids; both recorded by the codec server
#   make cluster-test     the fault matrix: up, kill or stop each component once under load, one line
#                         per fault (submitted, final, lost, duplicated, changed, recovered in); then
#                         the smoke test and the Web UI check in headless Chromium; down
#   make cluster-load     the load test (vegeta): constant rate, a ramp to saturation, against one
#                         router and one worker, then two and two, a 10-minute soak on the second;
#                         throughput, latency percentiles, errors, CPU and memory per process, and
#                         the scale-out factor side by side (about 30 minutes)
#   make cluster-down     stop everything (SIGTERM, then SIGKILL after DZL_CLUSTER_STOP_TIMEOUT)
# Configuration: deploy/cluster.env; every value can be overridden on the command line or in
# the environment (make cluster-up DZL_ROUTERS=1). deploy/README.md describes the same
# processes on several hosts.
CLUSTER := deploy/cluster.sh

.PHONY: cluster-tools cluster-schema cluster-up cluster-down cluster-status cluster-smoke cluster-ui cluster-ui-check cluster-test cluster-load

cluster-tools: temporal-cli
	$(CLUSTER) tools

cluster-schema: cluster-tools
	$(CLUSTER) schema

cluster-up: temporal-cli build
	$(CLUSTER) up

cluster-down:
	$(CLUSTER) down

cluster-status:
	$(CLUSTER) status

cluster-smoke: build
	$(CLUSTER) smoke

cluster-ui: build
	$(CLUSTER) ui

cluster-ui-check: build
	$(CLUSTER) ui-check

cluster-test: temporal-cli build
	$(CLUSTER) test

cluster-load: temporal-cli build
	$(CLUSTER) load $(LOAD_ARGS)

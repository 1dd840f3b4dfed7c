#!/bin/sh
# The bench's arm "headroom through Prometheus + Alertmanager with the repo's configs", set up inside the guest:
# - the agent from the shipped unit (deploy/systemd/headroom-agent.service), guard OFF, the receiver on with a
#   bearer token in /etc/headroom/receiver-token (the path alerting/alertmanager.yml names), Slack notifications
#   to a local stand-in (fake-slack.mjs on 127.0.0.1:9700, its requests in /var/lib/hr-fake-slack/messages.jsonl);
# - Prometheus with prometheus/prometheus.yml and prometheus/rules/*.yml exactly as committed (agent scraped every
#   5 s on 127.0.0.1:9632, rules evaluated every 5 s, Alertmanager on 127.0.0.1:9093);
# - Alertmanager with alerting/alertmanager.yml exactly as committed (critical -> /alerts/remediate with
#   group_wait 0s, warnings -> /alerts/notify).
# The binaries are the host's (Debian 12 packages), shared at /opt/hostnode. Exits 0 once the agent answers,
# Prometheus scrapes it with the rules loaded and knows Alertmanager, and Alertmanager is ready.
set -eu
for b in prometheus alertmanager; do
  test -x /opt/hostnode/$b || { echo "/opt/hostnode/$b missing: install prometheus and prometheus-alertmanager on the host (scripts/install-deps.sh)" >&2; exit 1; }
done
# Debian's Alertmanager reads its default templates from here (shared from the host's package).
mkdir -p /usr/share/prometheus/alertmanager
cp /opt/hostnode/alertmanager-templates/*.tmpl /usr/share/prometheus/alertmanager/
mkdir -p /etc/headroom /var/lib/hr-fake-slack /var/lib/hr-prometheus /var/lib/hr-alertmanager
umask 077
head -c 32 /dev/urandom | base64 > /etc/headroom/receiver-token
echo 'http://127.0.0.1:9700/services/T000/B000/headroom-machine' > /etc/headroom/slack-webhook-url
cat > /etc/headroom/headroom.yml <<'YAML'
remediation:
  state_dir: /var/lib/headroom
  protect_sshd: { enabled: true, memory_low: 64M }
receiver:
  enabled: true
  auth: { token_file: /etc/headroom/receiver-token }
notify:
  slack: { webhook_url_file: /etc/headroom/slack-webhook-url }
guard:
  enabled: false
YAML
umask 022
: > /var/lib/hr-fake-slack/messages.jsonl
# Slack is outside the machine in real life: the stand-in must not be the kernel's victim.
systemd-run --quiet --unit=hr-fake-slack -p OOMScoreAdjust=-1000 /usr/bin/node /opt/headroom/test/machine/guest/fake-slack.mjs 9700 /var/lib/hr-fake-slack/messages.jsonl
install -m 0644 /opt/headroom/deploy/systemd/headroom-agent.service /etc/systemd/system/
systemctl daemon-reload
systemctl start headroom-agent
systemd-run --quiet --unit=hr-alertmanager /opt/hostnode/alertmanager --config.file=/opt/headroom/alerting/alertmanager.yml \
  --storage.path=/var/lib/hr-alertmanager --web.listen-address=127.0.0.1:9093 --cluster.listen-address=
systemd-run --quiet --unit=hr-prometheus /opt/hostnode/prometheus --config.file=/opt/headroom/prometheus/prometheus.yml \
  --storage.tsdb.path=/var/lib/hr-prometheus --web.listen-address=127.0.0.1:9090
python3 - <<'PY'
import json, sys, time, urllib.request
def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()
need = {
    "agent": lambda: get("http://127.0.0.1:9632/healthz") is not None,
    "slack stand-in": lambda: urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:9700/ready", data=b"{}"), timeout=5).status == 200,
    "alertmanager": lambda: get("http://127.0.0.1:9093/-/ready") is not None,
    "prometheus scrapes the agent": lambda: any(t["labels"].get("job") == "headroom" and t["health"] == "up" for t in json.loads(get("http://127.0.0.1:9090/api/v1/targets"))["data"]["activeTargets"]),
    "prometheus has the rules": lambda: len(json.loads(get("http://127.0.0.1:9090/api/v1/rules"))["data"]["groups"]) > 0,
    "prometheus knows alertmanager": lambda: len(json.loads(get("http://127.0.0.1:9090/api/v1/alertmanagers"))["data"]["activeAlertmanagers"]) > 0,
}
deadline = time.time() + 240
last = "not yet"
for name, check in need.items():
    while True:
        try:
            if check():
                break
            last = "not yet"
        except Exception as e:
            last = e
        if time.time() > deadline:
            sys.exit(f"not ready: {name} ({last})")
        time.sleep(1)
PY
# The readiness POST is not a notification: start counting from here.
: > /var/lib/hr-fake-slack/messages.jsonl

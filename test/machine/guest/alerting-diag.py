"""What the alerting path saw during a bench window (the headroom-alertmanager arm), as one line.

usage: python3 alerting-diag.py START_EPOCH_SECONDS
Asks the guest's Prometheus (127.0.0.1:9090) for the agent's scrapes (sent / answered) and, for each alert that
fired, when it first fired (seconds after START); and Alertmanager (127.0.0.1:9093/metrics) how many webhook
notifications it sent and how many failed. Errors are printed in the line, not raised: this is a report.
"""
import json, sys, time, urllib.parse, urllib.request

start = float(sys.argv[1])
now = time.time()
window = f"{max(60, int(now - start) + 30)}s"


def prom(path, **params):
    url = "http://127.0.0.1:9090/api/v1/" + path + "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=20) as r:
        return json.loads(r.read().decode())["data"]


parts = []
try:
    sent = prom("query", query=f'count_over_time(up{{job="headroom"}}[{window}])')["result"]
    ok = prom("query", query=f'sum_over_time(up{{job="headroom"}}[{window}])')["result"]
    parts.append("scrapes %s/%s up" % (ok[0]["value"][1] if ok else "0", sent[0]["value"][1] if sent else "0"))
    rng = prom("query_range", query='ALERTS{alertstate="firing"}', start=start, end=now, step="1s")["result"]
    fired = []
    for series in rng:
        m = series["metric"]
        first = float(series["values"][0][0]) - start
        fired.append((first, "%s/%s at %.0f s" % (m.get("alertname"), m.get("severity", "?"), first)))
    parts.append("fired: " + (", ".join(f for _, f in sorted(fired)) if fired else "none"))
except Exception as e:  # noqa: BLE001 - reported, not raised
    parts.append(f"prometheus: {e}")
try:
    with urllib.request.urlopen("http://127.0.0.1:9093/metrics", timeout=20) as r:
        text = r.read().decode()
    def metric(name):
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and 'integration="webhook"' in line:
                total += float(line.rsplit(" ", 1)[1])
        return int(total)
    parts.append("alertmanager webhooks %d sent, %d failed" % (metric("alertmanager_notifications_total"), metric("alertmanager_notifications_failed_total")))
except Exception as e:  # noqa: BLE001 - reported, not raised
    parts.append(f"alertmanager: {e}")
print("; ".join(parts))

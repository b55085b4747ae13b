"""Reads Modelgate's CSV exports with Python's csv module and prints what they add up to, as JSON,
so tests compare the export with the statistics API. Usage: csv_totals.py usage|purchases|audit FILE"""
import csv
import json
import sys

kind, path = sys.argv[1], sys.argv[2]
with open(path, newline="", encoding="utf-8") as file:
    rows = list(csv.DictReader(file))

if kind == "usage":
    totals = {}
    for row in rows:
        model = totals.setdefault(row["model_id"], {"messages": 0, "days": []})
        model["messages"] += int(row["messages"])
        model["days"].append(row["day"])
    print(json.dumps(totals, sort_keys=True))
elif kind == "purchases":
    totals = {}
    for row in rows:
        model = totals.setdefault(row["model_id"], {})
        model[row["status"]] = model.get(row["status"], 0) + int(row["amount_cents"])
    print(json.dumps(totals, sort_keys=True))
else:
    parsed = [{"action": row["action"], "before": json.loads(row["before"]) if row["before"] else None,
               "after": json.loads(row["after"]) if row["after"] else None} for row in rows]
    print(json.dumps(parsed, sort_keys=True))

#!/usr/bin/env python3
"""The platform's rules for its rendered Kubernetes manifests (scripts/k8s
validate runs this on `kustomize build` of overlays/dev and overlays/prod,
after the schema check). Each rule is something a cluster would not reject
but an operator would regret:

- every container has liveness and readiness probes, CPU and memory
  requests and limits, a read-only root, no privilege escalation; every pod
  runs as non-root; every image has an explicit tag (prod: not dev/latest);
- every Deployment has a PodDisruptionBudget and a HorizontalPodAutoscaler
  selecting it, and no fixed `replicas` that the autoscaler would fight;
- every Service selects pods that exist and names a port they expose; the
  gateway's upstreams (*_SERVERS) are Services with that port;
- migrations run once: the shared config says DB_MIGRATE=external, and each
  Deployment with a DATABASE_URL has a Job running the same image with
  `migrate` (and DB_MIGRATE=start) on the same database;
- secrets stay secret: no credentials in a ConfigMap; every secret key used
  is in the dev Secret; prod renders no Secret at all (made outside git).

Usage: k8s_check.py DEV.yaml PROD.yaml — prints every problem, exits 1 if any.
"""
import sys

import yaml

problems = []


def problem(overlay, msg):
    problems.append(f"{overlay}: {msg}")


def pod_spec(doc):
    return doc["spec"]["template"]["spec"]


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def check(overlay, docs):
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    workloads = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])
    configs = {c["metadata"]["name"]: c.get("data", {}) for c in by_kind.get("ConfigMap", [])}
    shared = next((v for k, v in configs.items() if k.startswith("w2meet-config")), None)
    if shared is None:
        problem(overlay, "no ConfigMap w2meet-config")
        shared = {}

    secret_keys = set()
    for s in by_kind.get("Secret", []):
        secret_keys |= set(s.get("data", {})) | set(s.get("stringData", {}))
    if overlay == "prod" and by_kind.get("Secret"):
        problem(overlay, "renders a Secret: production secrets are made outside git (docs/deploy.md)")
    for name, data in configs.items():
        for k, v in data.items():
            if "://" in str(v) and "@" in str(v).split("://", 1)[1].split("/", 1)[0]:
                problem(overlay, f"ConfigMap {name} {k} carries credentials: put it in the Secret")

    for w in by_kind.get("Deployment", []) + by_kind.get("Job", []):
        kind, name = w["kind"], w["metadata"]["name"]
        spec = pod_spec(w)
        if not spec.get("securityContext", {}).get("runAsNonRoot"):
            problem(overlay, f"{kind} {name}: pod not runAsNonRoot")
        for c in spec["containers"]:
            where = f"{kind} {name} container {c['name']}"
            image = c.get("image", "")
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            if not tag:
                problem(overlay, f"{where}: image {image} has no tag")
            elif overlay == "prod" and tag in ("latest", "dev"):
                problem(overlay, f"{where}: image {image} is not pinned")
            res = c.get("resources", {})
            for side in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in res.get(side, {}):
                        problem(overlay, f"{where}: no {r} {side[:-1]}")
            sc = c.get("securityContext", {})
            if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation") is not False:
                problem(overlay, f"{where}: needs readOnlyRootFilesystem and allowPrivilegeEscalation: false")
            if kind == "Deployment":
                for probe in ("livenessProbe", "readinessProbe"):
                    if probe not in c:
                        problem(overlay, f"{where}: no {probe}")
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and overlay == "dev" and ref["key"] not in secret_keys:
                    problem(overlay, f"{where}: secret key {ref['key']} is not in the Secret")
        for v in spec.get("volumes", []):
            for item in v.get("secret", {}).get("items", []):
                if overlay == "dev" and item["key"] not in secret_keys:
                    problem(overlay, f"{kind} {name}: secret key {item['key']} is not in the Secret")

    for d in by_kind.get("Deployment", []):
        name = d["metadata"]["name"]
        labels = d["spec"]["template"]["metadata"]["labels"]
        if not any(selects(p["spec"]["selector"]["matchLabels"], labels) for p in by_kind.get("PodDisruptionBudget", [])):
            problem(overlay, f"Deployment {name}: no PodDisruptionBudget")
        if not any(h["spec"]["scaleTargetRef"]["name"] == name for h in by_kind.get("HorizontalPodAutoscaler", [])):
            problem(overlay, f"Deployment {name}: no HorizontalPodAutoscaler")
        elif "replicas" in d["spec"]:
            problem(overlay, f"Deployment {name}: fixed replicas beside its autoscaler")

    services = {}
    for s in by_kind.get("Service", []):
        name = s["metadata"]["name"]
        pods = [w for w in workloads if selects(s["spec"]["selector"], w["spec"]["template"]["metadata"]["labels"])]
        if not pods:
            problem(overlay, f"Service {name} selects no pods")
            continue
        ports = {p.get("name") for w in pods for c in pod_spec(w)["containers"] for p in c.get("ports", [])}
        for p in s["spec"]["ports"]:
            if p["targetPort"] not in ports:
                problem(overlay, f"Service {name}: no container port named {p['targetPort']}")
        services[name] = {p["port"] for p in s["spec"]["ports"]}
    for k, v in shared.items():
        if k.endswith("_SERVERS"):
            for server in v.split():
                host, _, port = server.partition(":")
                if int(port or 80) not in services.get(host, set()):
                    problem(overlay, f"w2meet-config {k}: no Service {host} on port {port}")

    if shared.get("DB_MIGRATE") != "external":
        problem(overlay, "w2meet-config: DB_MIGRATE is not external (the replicas would migrate)")
    jobs = by_kind.get("Job", [])
    for d in by_kind.get("Deployment", []):
        for c in pod_spec(d)["containers"]:
            db = next((e["valueFrom"]["secretKeyRef"]["key"] for e in c.get("env", [])
                       if e["name"] == "DATABASE_URL" and "valueFrom" in e), None)
            if db is None:
                continue
            ok = False
            for j in jobs:
                for jc in pod_spec(j)["containers"]:
                    env = {e["name"]: e for e in jc.get("env", [])}
                    if (jc.get("image") == c.get("image") and jc.get("args") == ["migrate"]
                            and env.get("DB_MIGRATE", {}).get("value") == "start"
                            and env.get("DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef", {}).get("key") == db):
                        ok = True
            if not ok:
                problem(overlay, f"Deployment {d['metadata']['name']}: no Job migrates {db} with its image")

    for ing in by_kind.get("Ingress", []):
        for rule in ing["spec"].get("rules", []):
            for path in rule["http"]["paths"]:
                if path["backend"]["service"]["name"] not in services:
                    problem(overlay, f"Ingress {ing['metadata']['name']}: no Service {path['backend']['service']['name']}")


def main():
    dev, prod = sys.argv[1:3]
    for overlay, path in (("dev", dev), ("prod", prod)):
        with open(path) as f:
            check(overlay, [d for d in yaml.safe_load_all(f) if d])
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

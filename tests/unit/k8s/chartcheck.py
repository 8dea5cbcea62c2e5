"""Offline checks of rendered Kubernetes manifests, run by ``make lint-k8s`` and by the tests.

``helm template`` renders the chart; this module then checks what it rendered, with no cluster:

- every built-in object against the Kubernetes API's OpenAPI schemas (kubernetes-validate,
  strict: unknown fields fail);
- ``ZohoSync`` objects (e.g. ``kustomize build k8s/examples``) against the CRD's openAPIV3Schema
  (jsonschema), and the Prometheus Operator and KEDA objects against ``operator_schemas``;
- the house policy on pods: non-root, hardened securityContext, requests and limits, pinned
  images, probes on every long-running container;
- the PrometheusRule is written out as a plain rules file for ``promtool check rules``.

Run: ``python -m tests.unit.k8s.chartcheck --kube-version 1.34.0 --chart F... --manifests F...``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final

import jsonschema  # type: ignore[import-untyped,unused-ignore]
import kubernetes_validate
import yaml

from tests.unit.k8s.operator_schemas import SCHEMAS

logger = logging.getLogger(__name__)

REPO_ROOT: Final = Path(__file__).resolve().parents[3]
CHART_DIR: Final = REPO_ROOT / "charts" / "tds"
CRD_FILE: Final = CHART_DIR / "files" / "crds" / "zohosyncs.tds.dev.yaml"

# Kinds that are not part of the Kubernetes API, with what checks them instead.
CUSTOM_KINDS: Final = {
    "ZohoSync": "the CRD's openAPIV3Schema",
    "PrometheusRule": "operator_schemas, then promtool check rules",
    "ServiceMonitor": "operator_schemas",
    "ScaledObject": "operator_schemas",
    "Kustomization": "kustomize build",
}
POD_TEMPLATE_KINDS: Final = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
LONG_RUNNING_KINDS: Final = {"Deployment", "StatefulSet", "DaemonSet"}


Document = dict[str, Any]


def load_documents(paths: Iterable[Path]) -> list[Document]:
    """Every non-empty YAML document in the files, in order."""
    documents: list[Document] = []
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            documents.extend(doc for doc in yaml.safe_load_all(handle) if doc)
    return documents


def describe(doc: Document) -> str:
    """``Kind/name`` for messages."""
    return f"{doc.get('kind', '?')}/{doc.get('metadata', {}).get('name', '?')}"


def kubernetes_errors(documents: Iterable[Document], kube_version: str) -> list[str]:
    """Schema errors of every built-in object (strict: unknown fields are errors)."""
    errors: list[str] = []
    for doc in documents:
        if doc.get("kind") in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(str(part) for part in exc.path)
            errors.append(f"{describe(doc)}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{describe(doc)}: no Kubernetes {kube_version} schema ({exc})")
    return errors


def crd_schema(crd: Document, version: str) -> Document:
    """The openAPIV3Schema of one served version of a CRD."""
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            schema: Document = entry["schema"]["openAPIV3Schema"]
            return schema
    raise KeyError(f"{crd['metadata']['name']} has no version {version}")


def structural_schema_errors(crd: Document) -> list[str]:
    """What the API server refuses in a CRD schema that plain JSON Schema allows.

    A structural schema may not say ``additionalProperties`` beside ``properties`` (the server
    prunes unknown fields instead, and strict field validation reports them to the client).
    """
    errors: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" in node:
                errors.append(f"{path}: additionalProperties and properties are mutual exclusive")
            for key, child in node.items():
                walk(child, f"{path}.{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, f"{path}[{index}]")

    for entry in crd["spec"]["versions"]:
        walk(entry["schema"]["openAPIV3Schema"], f"{entry['name']}.openAPIV3Schema")
    return errors


def _strict_fields(schema: Any) -> Any:
    """The schema as ``kubectl --validate=strict`` applies it: unknown fields are errors."""
    if isinstance(schema, dict):
        closed = {key: _strict_fields(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_strict_fields(item) for item in schema]
    return schema


def custom_resource_errors(documents: Iterable[Document], crd: Document) -> list[str]:
    """Errors of the CRD's objects against its schema.

    CEL rules are not evaluated offline: the API server does that (tests/k8s/test_crd_server.py).
    """
    group = crd["spec"]["group"]
    kind = crd["spec"]["names"]["kind"]
    errors: list[str] = []
    for doc in documents:
        if doc.get("kind") != kind:
            continue
        api_group, _, version = str(doc.get("apiVersion", "")).partition("/")
        if api_group != group:
            errors.append(f"{describe(doc)}: apiVersion {doc.get('apiVersion')} is not {group}")
            continue
        try:
            schema = crd_schema(crd, version)
        except KeyError as exc:
            errors.append(f"{describe(doc)}: {exc}")
            continue
        validator = jsonschema.Draft7Validator(_strict_fields(schema))
        for error in validator.iter_errors(doc):
            path = "/".join(str(part) for part in error.absolute_path)
            errors.append(f"{describe(doc)}: {path}: {error.message}")
    return errors


def operator_resource_errors(documents: Iterable[Document]) -> list[str]:
    """Errors of ServiceMonitor, PrometheusRule and ScaledObject objects (operator_schemas)."""
    errors: list[str] = []
    for doc in documents:
        schema = SCHEMAS.get(str(doc.get("kind")))
        if schema is None:
            continue
        for error in jsonschema.Draft7Validator(schema).iter_errors(doc):
            path = "/".join(str(part) for part in error.absolute_path)
            errors.append(f"{describe(doc)}: {path}: {error.message}")
    return errors


def pod_templates(doc: Document) -> Iterator[Document]:
    """The pod spec(s) an object runs."""
    kind = doc.get("kind")
    if kind in POD_TEMPLATE_KINDS:
        yield doc["spec"]["template"]["spec"]
    elif kind == "Pod":
        yield doc["spec"]


def _container_errors(where: str, pod: Document, container: Document, probes: bool) -> list[str]:
    errors: list[str] = []
    pod_ctx = pod.get("securityContext") or {}
    ctx = container.get("securityContext") or {}
    image = str(container.get("image", ""))
    name_and_tag = image.split("@", 1)[0]
    tag = name_and_tag.rsplit(":", 1)[1] if ":" in name_and_tag.rsplit("/", 1)[-1] else ""
    if tag == "latest":
        errors.append(f"{where}: image {image!r} uses the 'latest' tag")
    elif not tag and "@sha256:" not in image:
        errors.append(f"{where}: image {image!r} has neither a tag nor a digest")
    run_as_non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
    run_as_user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    if run_as_non_root is not True:
        errors.append(f"{where}: runAsNonRoot is not true")
    if run_as_user == 0:
        errors.append(f"{where}: runAsUser is 0 (root)")
    if ctx.get("allowPrivilegeEscalation") is not False:
        errors.append(f"{where}: allowPrivilegeEscalation is not false")
    if ctx.get("readOnlyRootFilesystem") is not True:
        errors.append(f"{where}: readOnlyRootFilesystem is not true")
    if "ALL" not in (ctx.get("capabilities") or {}).get("drop", []):
        errors.append(f"{where}: capabilities do not drop ALL")
    seccomp = ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}
    if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
        errors.append(f"{where}: no RuntimeDefault seccomp profile")
    resources = container.get("resources") or {}
    for section in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if not (resources.get(section) or {}).get(resource):
                errors.append(f"{where}: missing resources.{section}.{resource}")
    if probes:
        for probe in ("livenessProbe", "readinessProbe"):
            if not container.get(probe):
                errors.append(f"{where}: no {probe}")
    return errors


def policy_errors(documents: Iterable[Document]) -> list[str]:
    """Breaches of the pod policy: root, missing limits, unpinned images, missing probes."""
    errors: list[str] = []
    for doc in documents:
        for pod in pod_templates(doc):
            long_running = doc.get("kind") in LONG_RUNNING_KINDS
            for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
                where = f"{describe(doc)} container {container.get('name')}"
                errors.extend(_container_errors(where, pod, container, probes=long_running))
    return errors


def prometheus_rule_files(documents: Iterable[Document]) -> dict[str, Document]:
    """Each PrometheusRule's spec as a plain Prometheus rules file, keyed by object name."""
    return {
        doc["metadata"]["name"]: {"groups": doc["spec"]["groups"]}
        for doc in documents
        if doc.get("kind") == "PrometheusRule"
    }


def check_documents(documents: list[Document], kube_version: str, *, policy: bool) -> list[str]:
    """Schema checks of every object (plus the pod policy when asked); returns the errors."""
    if not documents:
        return ["no objects"]
    crd = load_documents([CRD_FILE])[0]
    errors = kubernetes_errors(documents, kube_version)
    errors += structural_schema_errors(crd)
    errors += custom_resource_errors(documents, crd)
    errors += operator_resource_errors(documents)
    if policy:
        errors += policy_errors(documents)
    return errors


def write_rule_files(documents: list[Document], prefix: str, rules_out: Path) -> list[Path]:
    """Write each PrometheusRule as ``<prefix>-<name>.rules.yaml`` for promtool."""
    rules_out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rules in prometheus_rule_files(documents).items():
        target = rules_out / f"{prefix}-{name}.rules.yaml"
        target.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kube-version", required=True, help="Kubernetes version, e.g. 1.34.0")
    parser.add_argument(
        "--chart", nargs="*", type=Path, default=[], help="helm template output: all checks"
    )
    parser.add_argument(
        "--manifests", nargs="*", type=Path, default=[], help="other manifests: schemas only"
    )
    parser.add_argument("--rules-out", type=Path, help="where to write PrometheusRule specs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    failed = False
    runs = [(path, True) for path in args.chart] + [(path, False) for path in args.manifests]
    for path, is_chart in runs:
        documents = load_documents([path])
        errors = check_documents(documents, args.kube_version, policy=is_chart)
        if is_chart and args.rules_out is not None:
            write_rule_files(documents, path.stem, args.rules_out)
        for error in errors:
            logger.error("%s: %s", path.name, error)
        if errors:
            failed = True
            logger.error("%s: %d error(s) in %d objects", path.name, len(errors), len(documents))
        else:
            logger.info(
                "%s: %d objects valid (Kubernetes %s)", path.name, len(documents), args.kube_version
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

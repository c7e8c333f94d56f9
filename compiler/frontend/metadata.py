"""The `bnnc.*` metadata a QONNX file carries from training to the board, written and read only here.

`bnnc export` (and `bnnc compress` for its chosen student) writes them into the model's metadata_props; the
front end reads them into graph.meta["model"]; `compiler.workflow.deploy` copies the preprocessing and dataset name into
deploy.json, where the runtime turns raw uint8 images into exactly the input the model was trained on.
Values are JSON text.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

PREFIX = "bnnc."
PREPROCESS, DATASET = "preprocess", "dataset"


def model_metadata(preprocess: Mapping[str, Any] | None, dataset: Mapping[str, Any] | None) -> dict[str, str]:
    """metadata_props to export with a model: its input preprocessing and the dataset it was trained on."""
    meta = {}
    if preprocess:
        meta[PREFIX + PREPROCESS] = json.dumps(dict(preprocess))
    if dataset:
        meta[PREFIX + DATASET] = json.dumps(dict(dataset))
    return meta


def from_checkpoint(ckpt: Mapping[str, Any]) -> dict[str, str]:
    """model_metadata of a bnnc checkpoint (trainer or bnn.compress student: both record both fields)."""
    return model_metadata(ckpt.get(PREPROCESS), ckpt.get(DATASET))


def read(props) -> dict[str, Any]:
    """{key without 'bnnc.': value} from an iterable of ONNX metadata_props (JSON values decoded)."""
    out: dict[str, Any] = {}
    for p in props:
        if p.key.startswith(PREFIX):
            try:
                out[p.key[len(PREFIX):]] = json.loads(p.value)
            except ValueError:
                out[p.key[len(PREFIX):]] = p.value
    return out


def preprocess_of(model_meta: Mapping[str, Any]) -> dict | None:
    """The preprocessing recorded in graph.meta['model'] (None: not exported by bnnc)."""
    return model_meta.get(PREPROCESS)


def dataset_name_of(model_meta: Mapping[str, Any]) -> str | None:
    return (model_meta.get(DATASET) or {}).get("name")

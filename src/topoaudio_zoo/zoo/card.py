"""The model card (``README.md`` of a model folder or Hub repository)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["model_card_text"]

LIMITATIONS = (
    "Intended for research on auditory models: comparing unit tuning and its layout on cortical "
    "sheets with the auditory cortex, and as a starting point for fine-tuning. Not a product "
    "classifier. The model hears {rate:g} kHz mono clips of {seconds:g} s through a fixed "
    "cochleagram; other rates are resampled and longer sounds are cropped by `preprocess`. "
    "Accuracy and topography were measured only under the protocols stated below."
)


def _metrics_table(metrics: dict[str, Any]) -> str:
    if not metrics:
        return "No metrics recorded."
    rows = ["| metric | value | protocol |", "|---|---|---|"]
    for name, entry in metrics.items():
        if isinstance(entry, dict):
            value, protocol = entry.get("value"), entry.get("protocol", "")
        else:
            value, protocol = entry, ""
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        rows.append(f"| {name} | {shown} | {protocol} |")
    return "\n".join(rows)


def model_card_text(config: dict[str, Any], n_parameters: int) -> str:
    """Markdown model card from a normalised model config: architecture, input, τ, heads,
    training data, metrics with their protocol, limitations."""
    topo = config["topography"]
    heads = "\n".join(
        f"  - `{task}`: {head['num_classes']} classes ({head['type']})"
        for task, head in config["heads"].items()
    )
    tau_line = (
        f"τ = {topo['tau']:g}, φ = {topo['factor']}, constrained layers: {topo['layers']}"
        if topo["tau"] > 0
        else "none (τ = 0: a non-topographic baseline)"
    )
    data = config["training_data"]
    data_text = json.dumps(data, indent=2) if isinstance(data, dict) else str(data)
    name = config["name"] or config["architecture"]
    limitations = LIMITATIONS.format(
        rate=config["sample_rate"] / 1000, seconds=config["clip_samples"] / config["sample_rate"]
    )
    return f"""---
library_name: topoaudio-zoo
license: {config["license"].lower()}
tags: [audio, auditory-models, topography, cochleagram, topoaudio-zoo]
---

# {name}

{config["description"]}

- **Architecture**: `{config["architecture"]}` {json.dumps(config["architecture_kwargs"])}, \
{n_parameters:,} parameters
- **Input**: mono waveform, {config["sample_rate"]} Hz, {config["clip_samples"]} samples, \
demeaned and RMS {config["rms"]}; cochleagram `{config["cochleagram"]["preset"]}` \
(mode `{config["cochleagram"]["mode"]}`, overrides {json.dumps(config["cochleagram"]["overrides"])})
- **Topographic loss**: {tau_line}
- **Heads**:
{heads}
- **Paper**: {config["paper"]}
- **Library**: topoaudio-zoo {config["library_version"]}

## Training data

```
{data_text}
```

## Metrics

{_metrics_table(config["metrics"])}

## Use

```python
import topoaudio_zoo

model = topoaudio_zoo.from_pretrained("<this repository or folder>")
print(model.predict("sound.wav"))
```

## Limitations and intended use

{limitations}
"""

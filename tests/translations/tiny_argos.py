"""Build tiny, deterministic Argos Translate packages for tests (no downloads, well under a second each).

The model is a real CTranslate2 Transformer (one encoder and one decoder layer) whose
weights are set by hand so that it *copies* its input token by token, replacing the
tokens listed in ``words`` (e.g. ``{"こんにちは": "hello"}``). How it works:

- the residual stream has a token block (± one-hot of the token, so LayerNorm only
  rescales) and a position block (± one-hot of the position, set as the model's
  position encodings);
- the decoder's cross-attention queries with the decoder position and keys on the encoder
  position, so step *t* attends to source token *t* (``add_source_eos`` makes step *n*
  attend to ``</s>`` and stop); its values carry the source token, mapped through
  ``words``, into the token block, which the output projection reads.

So ``XG1X`` (a user-defined SentencePiece symbol here) passes through untouched, and a
chain ja→en→vi of two tiny packages visibly applies both word maps.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

MAX_POSITIONS = 512
PLACEHOLDERS = tuple(f"XG{number}X" for number in range(1, 10))
DEFAULT_CORPUS = (
    "住民票をください。",
    "区役所はどこですか。",
    "ごみの日はいつですか。",
    "Please bring your card to the office.",
    "Where is the ward office?",
    "Xin vui lòng mang thẻ đến văn phòng.",
    "Thank you very much!",
)


def build_tiny_package(
    workdir: Path,
    from_code: str,
    to_code: str,
    *,
    words: Mapping[str, str] | None = None,
    version: str = "1.0",
    corpus: Sequence[str] = DEFAULT_CORPUS,
) -> Path:
    """Write ``translate-<from>_<to>-<version>.argosmodel`` into ``workdir`` and return its path."""
    import ctranslate2  # noqa: F401  (fail early with a clear import error)
    import sentencepiece

    words = dict(words or {})
    symbols = list(dict.fromkeys([*PLACEHOLDERS, *words, *words.values()]))
    model_proto = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(list(corpus) * 4),
        model_writer=model_proto,
        vocab_size=80,
        hard_vocab_limit=False,
        user_defined_symbols=symbols,
        character_coverage=1.0,
        minloglevel=3,
    )
    processor = sentencepiece.SentencePieceProcessor(model_proto=model_proto.getvalue())
    vocabulary = [processor.id_to_piece(index) for index in range(processor.get_piece_size())]
    mapping = {vocabulary.index(source): vocabulary.index(target) for source, target in words.items()}

    name = f"translate-{from_code}_{to_code}-{version.replace('.', '_')}"
    package_dir = Path(workdir) / name
    (package_dir / "model").mkdir(parents=True, exist_ok=True)
    _copy_spec(vocabulary, mapping).save(str(package_dir / "model"))
    (package_dir / "sentencepiece.model").write_bytes(model_proto.getvalue())
    metadata = {
        "package_version": version,
        "argos_version": "1.9",
        "from_code": from_code,
        "from_name": from_code,
        "to_code": to_code,
        "to_name": to_code,
        "type": "translate",
    }
    (package_dir / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    (package_dir / "README.md").write_text("Tiny copy model for tests.\n", encoding="utf-8")
    archive = Path(workdir) / f"{name}.argosmodel"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for file in sorted(package_dir.rglob("*")):
            if file.is_file():
                zipped.write(file, f"{name}/{file.relative_to(package_dir).as_posix()}")
    return archive


def _transformer_spec_module() -> Any:
    """``ctranslate2.specs.transformer_spec`` without its optional torch import (seconds saved per session)."""
    if "torch" in sys.modules or "ctranslate2.specs" in sys.modules:
        from ctranslate2.specs import transformer_spec
    else:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail fast inside
        try:
            from ctranslate2.specs import transformer_spec
        finally:
            del sys.modules["torch"]
    return transformer_spec


def _copy_spec(vocabulary: list[str], mapping: Mapping[int, int]) -> Any:
    transformer_spec = _transformer_spec_module()

    size, positions = len(vocabulary), MAX_POSITIONS
    depth = 2 * size + 2 * positions
    token, position = 0, 2 * size  # block offsets: token (+ then -), position (+ then -)
    f32 = np.float32

    def signed_one_hot(offset: int, half: int, index: int) -> np.ndarray:
        """+1 at ``offset + index`` and -1 at ``offset + half + index``: mean zero, so LayerNorm only rescales."""
        row = np.zeros(depth, f32)
        row[offset + index], row[offset + half + index] = 1.0, -1.0
        return row

    def layer_norm(spec: Any) -> None:
        spec.gamma, spec.beta = np.ones(depth, f32), np.zeros(depth, f32)

    def linear(spec: Any, weight: np.ndarray) -> None:
        spec.weight, spec.bias = weight.astype(f32), np.zeros(weight.shape[0], f32)

    spec = transformer_spec.TransformerSpec.from_config(num_layers=1, num_heads=1)
    # Embeddings are multiplied by sqrt(depth) by CTranslate2: divide here so tokens are ±1.
    tokens = np.stack([signed_one_hot(token, size, index) for index in range(size)]) / np.sqrt(depth)
    spec.encoder.embeddings[0].weight = tokens.astype(f32)
    spec.decoder.embeddings.weight = np.zeros((size, depth), f32)  # the decoder only needs its position
    encodings = np.stack([signed_one_hot(position, positions, index) for index in range(positions)])
    spec.encoder.position_encodings.encodings = encodings
    spec.decoder.position_encodings.encodings = encodings.copy()
    for layer in (spec.encoder.layer[0], spec.decoder.layer[0]):  # self-attention and FFN add nothing
        layer_norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], np.zeros((3 * depth, depth)))
        linear(layer.self_attention.linear[1], np.zeros((depth, depth)))
        layer_norm(layer.ffn.layer_norm)
        linear(layer.ffn.linear_0, np.zeros((4, depth)))
        linear(layer.ffn.linear_1, np.zeros((depth, 4)))
    layer_norm(spec.encoder.layer_norm)

    cross = spec.decoder.layer[0].attention
    layer_norm(cross.layer_norm)
    positions_only = np.zeros((depth, depth))
    positions_only[position:, position:] = np.eye(2 * positions)
    linear(cross.linear[0], 4.0 * positions_only)  # queries: decoder position, sharpened
    keys_values = np.zeros((2 * depth, depth))
    keys_values[:depth] = positions_only  # keys: encoder position
    for index in range(size):  # values: the source token, mapped through `words`
        mapped = mapping.get(index, index)
        keys_values[depth + token + mapped, token + index] = 1.0
        keys_values[depth + token + size + mapped, token + size + index] = 1.0
    linear(cross.linear[1], keys_values)
    linear(cross.linear[2], np.eye(depth))
    layer_norm(spec.decoder.layer_norm)
    projection = np.stack([signed_one_hot(token, size, index) for index in range(size)])
    linear(spec.decoder.projection, projection)

    spec.register_source_vocabulary(vocabulary)
    spec.register_target_vocabulary(vocabulary)
    spec.config.add_source_eos = True
    spec.validate()
    spec.optimize(quantization="float16")
    return spec

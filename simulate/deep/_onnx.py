r"""A minimal reader of the weights stored in an ONNX file: no onnx package, no protobuf library.

An ONNX file is one protobuf message ``ModelProto``; its field 7 is the ``GraphProto``, whose
repeated field 5 holds the weights (``TensorProto``: ``dims`` = 1, ``data_type`` = 2,
``name`` = 8, ``raw_data`` = 9, ``float_data`` = 4) and repeated field 1 the nodes
(``NodeProto``: ``input`` = 1, ``output`` = 2, ``name`` = 3, ``op_type`` = 4, ``attribute`` = 5,
an ``AttributeProto`` with ``name`` = 1 and ``f`` = 2). Field numbers are those of
``onnx/onnx.proto`` (stable since ONNX IR version 3). The protobuf wire format is decoded
directly (varints and length-delimited fields, about forty lines), which is all a frozen
encoder needs: the weights and, for weights that an exporter named after the graph node that
consumes them (``onnx::MatMul_470``), the consuming node's name.

Why not the ``onnx`` package: it would add a compiled dependency (and ``protobuf``) to read
one file; the reader is checked end to end by the tests, which run the same file under
onnxruntime (a test-only dependency) and compare its outputs with the JAX forward that these
weights feed.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["OnnxGraph", "read_onnx"]

# TensorProto.DataType values this reader understands -> NumPy dtype
_DTYPES = {1: np.float32, 6: np.int32, 7: np.int64, 11: np.float64}


def _varint(b: memoryview, i: int) -> tuple[int, int]:
    out = shift = 0
    while True:
        c = b[i]
        i += 1
        out |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return out, i


def _fields(b: memoryview):
    """``(field number, wire type, value)`` of each field of one message, in order."""
    i, n = 0, len(b)
    while i < n:
        key, i = _varint(b, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(b, i)
        elif wire == 2:
            size, i = _varint(b, i)
            value, i = b[i : i + size], i + size
        elif wire == 1:
            value, i = b[i : i + 8], i + 8
        elif wire == 5:
            value, i = b[i : i + 4], i + 4
        else:
            raise ValueError(f"onnx: unsupported protobuf wire type {wire} (field {field})")
        yield field, wire, value


def _packed_varints(b: memoryview) -> list[int]:
    out, i = [], 0
    while i < len(b):
        v, i = _varint(b, i)
        out.append(v)
    return out


def _tensor(b: memoryview) -> tuple[str, np.ndarray]:
    dims: list[int] = []
    name, dtype, raw, floats = "", None, None, []
    for f, w, v in _fields(b):
        if f == 1:
            dims.extend([v] if w == 0 else _packed_varints(v))
        elif f == 2:
            dtype = v
        elif f == 8:
            name = bytes(v).decode()
        elif f == 9:
            raw = bytes(v)
        elif f == 4:
            floats.append(np.frombuffer(bytes(v), "<f4"))  # packed (wire 2) or one value (wire 5)
        elif f == 14:
            raise ValueError(
                f"onnx: tensor {name!r} keeps its data in an external file, which this reader does not follow"
            )
    if dtype not in _DTYPES:
        raise ValueError(f"onnx: tensor {name!r} has data type {dtype}, which this reader does not read")
    if raw is not None:
        arr = np.frombuffer(raw, np.dtype(_DTYPES[dtype]).newbyteorder("<")).astype(_DTYPES[dtype])  # copies
    elif dtype == 1 and floats:
        arr = np.concatenate(floats)
    else:
        arr = np.zeros(0, _DTYPES[dtype])
    if arr.size != int(np.prod(dims, dtype=np.int64)):
        raise ValueError(f"onnx: tensor {name!r} holds {arr.size} values for shape {tuple(dims)}")
    return name, arr.reshape(dims)


@dataclasses.dataclass(frozen=True)
class OnnxNode:
    name: str
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    float_attrs: dict[str, float]


@dataclasses.dataclass(frozen=True)
class OnnxGraph:
    """The weights (``initializers``: name -> array) and nodes of an ONNX graph, in file order."""

    initializers: dict[str, np.ndarray]
    nodes: tuple[OnnxNode, ...]

    def consumer(self, tensor: str) -> OnnxNode:
        """The one node that takes ``tensor`` as an input (an error if none or several do)."""
        found = [n for n in self.nodes if tensor in n.inputs]
        if len(found) != 1:
            raise ValueError(f"onnx: {len(found)} nodes consume {tensor!r}, expected exactly one")
        return found[0]


def _node(b: memoryview) -> OnnxNode:
    ins, outs, name, op, attrs = [], [], "", "", {}
    for f, _, v in _fields(b):
        if f == 1:
            ins.append(bytes(v).decode())
        elif f == 2:
            outs.append(bytes(v).decode())
        elif f == 3:
            name = bytes(v).decode()
        elif f == 4:
            op = bytes(v).decode()
        elif f == 5:
            a = {g: val for g, _, val in _fields(v)}
            if 1 in a and 2 in a:
                attrs[bytes(a[1]).decode()] = float(np.frombuffer(bytes(a[2]), "<f4")[0])
    return OnnxNode(name, op, tuple(ins), tuple(outs), attrs)


def read_onnx(raw: bytes) -> OnnxGraph:
    """Parse the bytes of an ``.onnx`` file into its weights and nodes (see the module docstring)."""
    graphs = [v for f, w, v in _fields(memoryview(raw)) if f == 7 and w == 2]
    if len(graphs) != 1:
        raise ValueError(f"onnx: expected one graph in the model, found {len(graphs)}")
    inits: dict[str, np.ndarray] = {}
    nodes = []
    for f, w, v in _fields(graphs[0]):
        if f == 5 and w == 2:
            name, arr = _tensor(v)
            inits[name] = arr
        elif f == 1 and w == 2:
            nodes.append(_node(v))
    return OnnxGraph(inits, tuple(nodes))

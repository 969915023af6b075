"""Arrays as users hold them: ml_dtypes arrays and torch tensors, turned into lowbit's inputs.

* :func:`as_values`: a torch tensor of float values (float32 / float16 / bfloat16 / float64, any
  device) becomes the numpy array of the same values (bfloat16 as ml_dtypes.bfloat16: exact).
* :func:`as_codes`: operands of :func:`lowbit.matmul` — integer code arrays as before, or arrays
  whose dtype *is* the format (numpy float16/float32, ml_dtypes float8_* / bfloat16 / float6_* /
  float4_* / int4 / int2, torch float8 / bfloat16 / float16 / float32 / int8 tensors): their bit
  patterns are the codes and the format comes from the dtype.

torch is never imported here: a tensor is recognised by its type's module and converted through
its own ``.cpu().numpy()`` (8- and 16-bit float types through an integer view first, as numpy
has no such dtypes).
"""

from __future__ import annotations

import numpy as np

from .formats import Format, format as lookup

_TORCH_FLOAT_VIEWS = {  # torch dtype name -> (integer view dtype name, lowbit format)
    "float8_e4m3fn": ("uint8", "float8_e4m3fn"), "float8_e5m2": ("uint8", "float8_e5m2"),
    "float8_e4m3fnuz": ("uint8", "float8_e4m3fnuz"), "float8_e5m2fnuz": ("uint8", "float8_e5m2fnuz"),
    "float8_e8m0fnu": ("uint8", "float8_e8m0fnu"), "bfloat16": ("int16", "bfloat16"),
    "float16": ("int16", "float16"), "float32": ("int32", "float32"),
}


def is_torch(x) -> bool:
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


def _torch_bits(t):
    """(numpy bit patterns, torch dtype name) of a tensor: its own bits, on the CPU."""
    import torch  # only reached with a tensor in hand: torch is installed

    name = str(t.dtype).replace("torch.", "")
    t = t.detach().cpu().contiguous()
    if name in _TORCH_FLOAT_VIEWS:
        view, _ = _TORCH_FLOAT_VIEWS[name]
        return t.view(getattr(torch, view)).numpy(), name
    return t.numpy(), name


def as_values(x):
    """``x`` as a numpy array of the same values: torch tensors converted (exactly), else as given."""
    if not is_torch(x):
        return x
    bits, name = _torch_bits(x)
    if name in ("float32", "float64"):
        return bits if name == "float64" else bits.view(np.float32)
    if name == "float16":
        return bits.view(np.float16)
    if name == "bfloat16":
        import ml_dtypes

        return bits.view(ml_dtypes.bfloat16)
    if name.startswith(("int", "uint")):
        return bits
    raise TypeError(f"a torch.{name} tensor holds no values lowbit.encode takes; allowed: float32, float64, "
                    "float16, bfloat16")


def as_codes(x, fmt, name: str) -> tuple[np.ndarray, Format]:
    """(codes, format) of a matmul operand: codes with ``fmt`` given, or an array whose dtype is
    the format (``fmt`` then optional; given, it must agree)."""
    if is_torch(x):
        bits, tname = _torch_bits(x)
        if tname in _TORCH_FLOAT_VIEWS:
            own = lookup(_TORCH_FLOAT_VIEWS[tname][1])
            return _checked(bits.view({1: np.uint8, 2: np.uint16, 4: np.uint32}[bits.dtype.itemsize]), own, fmt,
                            name, f"torch.{tname}")
        if fmt is None:
            raise TypeError(f"{name}: a torch.{tname} tensor of codes needs its format "
                            f"({name}_format=...); or pass a tensor of a float8/bfloat16/float16/float32 dtype")
        return bits, lookup(fmt)
    arr = np.asarray(x)
    if arr.dtype.kind in "iu" and arr.dtype.name not in ("int4", "uint4", "int2", "uint2"):
        if fmt is None:
            raise TypeError(f"{name}: integer codes need their format ({name}_format=...); or pass an array "
                            "whose dtype is the format (ml_dtypes float8_*, bfloat16, float16, ...)")
        return arr, lookup(fmt)
    try:
        own = lookup(arr.dtype)
    except (ValueError, TypeError):
        raise TypeError(f"{name}: dtype {arr.dtype} is neither integer codes nor a format lowbit knows; allowed: "
                        "integer code arrays with a format, or arrays of a format's own dtype") from None
    size = arr.dtype.itemsize
    bits = arr.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[size])
    if own.bits < 8 * size:  # sub-byte ml_dtypes types live in a byte: keep the format's bits
        bits = bits & np.array((1 << own.bits) - 1, bits.dtype)
    return _checked(bits, own, fmt, name, str(arr.dtype))


def _checked(bits, own: Format, fmt, name: str, what: str):
    if fmt is not None and lookup(fmt) != own:
        want = lookup(fmt).name
        raise TypeError(f"{name}: a {what} array holds {own.name} codes (its bit patterns), but "
                        f"{name}_format={want!r}; pass {want} codes as an integer array (lowbit.encode(values, "
                        f"{want!r})) or an array of {want}'s own dtype, or omit {name}_format")
    return bits, own

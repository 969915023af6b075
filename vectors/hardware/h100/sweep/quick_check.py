import json, sys
from lowbit.mac import sweep
shapes=[(64,64,4096),(1,4096,4096),(128,256,3072),(100,100,100),(7,14336,4096)]
for p in ("bf16-f32","tf32","fp8-fast","int8","fp16-acc16","bf16"):
    r=sweep.record(p, shapes, log=lambda s: None)
    print(p, r["errors"])
    for s,k in zip(shapes, r["kernels"]): print("  ", s, k)
    print("  bits", {i: r["bits"][i][:4] for i in list(r["bits"])[:2]})

"""Checkpoints whose tensors are intact but whose later records are wrong, for CheckpointLoadAtomicityTest.

Input: tiny.ibot4j, a checkpoint ibot4j wrote after one step (java-api/src/test/resources/fixtures/
damaged-checkpoints/README.md says how). ibot4j checkpoints are LibTorch archives, which torch.jit
opens as a module with one attribute per record; each output changes one record and keeps the rest:
  bad_rng.ibot4j        the generator state is 17 bytes (a CPU generator's is 5,056)
  bad_step.ibot4j       the step count is -5
  bad_optimizer.ibot4j  the first parameter's first moment has shape [3]
A loader that restores records one by one would change the weights or the optimiser before it reaches
the bad one; ibot4j must refuse each file and leave the model as it was.
"""
import sys
from pathlib import Path

import torch


def rewrite(source: Path, target: Path, change) -> None:
    module = torch.jit.load(str(source))
    change(module)
    module.save(str(target))


def main() -> None:
    folder = Path(sys.argv[1])
    source = folder / "tiny.ibot4j"
    rewrite(source, folder / "bad_rng.ibot4j", lambda m: m._c.setattr("rng_state", torch.zeros(17, dtype=torch.uint8)))
    rewrite(source, folder / "bad_step.ibot4j", lambda m: m._c.setattr("step", -5))

    def shrink_first_moment(m):
        _, state = next(iter(m.optimizer.state.named_children()))
        state._c.setattr("exp_avg", torch.zeros(3))

    rewrite(source, folder / "bad_optimizer.ibot4j", shrink_first_moment)


if __name__ == "__main__":
    main()

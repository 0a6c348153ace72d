"""The one module that relies on mmengine names without a public API.

mmengine 0.10.x gives no public way to do these; each is pinned by a test
in ``tests/test_engine/test_mmengine_private.py`` (named after what it
relies on), so an mmengine upgrade that changes one fails that test, not a
training run, and ``docs/dependencies.md`` lists them:

- the Runner's load settings (``_load_from``, ``_resume``,
  ``_has_loaded``): ``Runner.load_or_resume`` reads them, and our resume
  choice replaces that method;
- ``FSDPStrategy``, importable only from the private ``mmengine._strategy``,
  and its ``_wrap_model`` / ``_init_state_dict_cfg``, which build FSDP with a
  CUDA device and CPU offload whatever the machine;
- the visualizer's ``add_config`` / ``add_scalars``, called by the Runner
  while it is built and by the logger: a full disk must not stop a run
  before its first checkpoint, and mmengine has no hook there.
"""
import functools
from typing import Callable, Optional, Union

import torch
from mmengine._strategy import FSDPStrategy
from mmengine.logging import print_log


# ------------------------------------------------- the Runner's load state ---
def runner_load_from(runner) -> Optional[str]:
    """The ``load_from`` the Runner was built with (or set since)."""
    return runner._load_from


def set_runner_load_from(runner, path: Optional[str]) -> None:
    """What ``load_or_resume`` loads or resumes from."""
    runner._load_from = path


def runner_resume(runner) -> Union[bool, str]:
    """The Runner's ``resume`` (FlexibleRunner also takes a path)."""
    return runner._resume


def runner_has_loaded(runner) -> bool:
    """Whether a checkpoint was already loaded or resumed (so that
    ``load_or_resume`` does nothing more)."""
    return runner._has_loaded


def mark_runner_loaded(runner) -> None:
    """Record that the weights are loaded, as ``load_checkpoint`` and
    ``resume`` of mmengine's Runner do."""
    runner._has_loaded = True


# ----------------------------------------------------------- the strategy ---
class CPUCapableFSDPStrategy(FSDPStrategy):
    """mmengine's ``FSDPStrategy`` where it fails without CUDA (the base of
    ``SafeFSDPStrategy``).

    - ``_wrap_model`` passes ``device_id=LOCAL_RANK``, a CUDA device; without
      CUDA torch's FSDP raises "Cannot access accelerator device":
      ``device_id='cpu'`` there.
    - ``state_dict_cfg='full'`` asks FSDP to offload the gathered state to
      the CPU; on a CPU-only machine (tensors already there) torch 2.13's
      ``FSDP.optim_state_dict`` then crashes rank 0 with a segmentation
      fault: gather without offload there.
    """

    def _wrap_model(self, model):
        if not torch.cuda.is_available():
            self.model_wrapper = dict(
                self.model_wrapper or dict(type='MMFullyShardedDataParallel'))
            self.model_wrapper.setdefault('device_id', 'cpu')
        return super()._wrap_model(model)

    def _init_state_dict_cfg(self, state_dict_cfg):
        super()._init_state_dict_cfg(state_dict_cfg)
        if state_dict_cfg == 'full' and not torch.cuda.is_available():
            self.state_dict_config.offload_to_cpu = False
            self.optim_state_dict_config.offload_to_cpu = False


# ------------------------------------------------------------ the visualizer -
#: The visualizer methods that write records a run can do without.
VISUALIZER_RECORDS = ('add_config', 'add_scalars')


def skip_records_when(visualizer, tolerate: Callable[[str, Callable],
                                                     Callable]) -> None:
    """Wrap the visualizer's record writers (:data:`VISUALIZER_RECORDS`) of
    this one instance with ``tolerate(what, write)``."""
    for method in VISUALIZER_RECORDS:
        setattr(
            visualizer, method,
            tolerate(f"the visualizer's {method[4:]}",
                     getattr(visualizer, method)))


def warn_instead(errors: tuple) -> Callable[[str, Callable], Callable]:
    """A ``tolerate`` for :func:`skip_records_when`: an ``OSError`` whose
    errno is in ``errors`` becomes a warning."""

    def tolerate(what: str, write: Callable) -> Callable:

        @functools.wraps(write)
        def tolerant(*args, **kwargs):
            try:
                return write(*args, **kwargs)
            except OSError as error:
                if error.errno not in errors:
                    raise
                print_log(
                    f'Could not write {what}: {error}; going on '
                    'without it.',
                    logger='current',
                    level=30)

        return tolerant

    return tolerate

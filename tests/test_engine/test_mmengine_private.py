"""What this package relies on in mmengine without a public API (the names
in ``mmsemanticmim/engine/mmengine_private.py``), pinned: an mmengine
upgrade that changes one fails here, by name, not in a training run."""
import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner

from mmsemanticmim.engine import mmengine_private as private


class _Toy(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.fc(
            torch.stack(inputs) if isinstance(inputs, list) else inputs)
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


class _Points(torch.utils.data.Dataset):

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i):
        return dict(inputs=torch.full((2, ), float(i)))


def _runner(work_dir, **kwargs):
    return Runner(
        model=_Toy(),
        work_dir=str(work_dir),
        experiment_name=f'pin_{osp.basename(work_dir)}',
        **kwargs)


def test_runner_keeps_its_load_settings_where_load_or_resume_reads_them(
        tmp_path):
    """``load_from`` / ``resume`` are kept as ``_load_from`` / ``_resume``,
    ``load_or_resume`` reads them and sets ``_has_loaded``, and it does
    nothing once that is set (what SafeRunner's resume choice relies on)."""
    path = str(tmp_path / 'toy.pth')
    torch.save(dict(state_dict=_Toy().state_dict()), path)
    runner = _runner(tmp_path / 'a', load_from=path)
    assert private.runner_load_from(runner) == path
    assert private.runner_resume(runner) is False
    assert private.runner_has_loaded(runner) is False
    Runner.load_or_resume(runner)
    assert private.runner_has_loaded(runner) is True

    runner = _runner(tmp_path / 'b', load_from=path, resume=True)
    assert private.runner_resume(runner) is True
    private.set_runner_load_from(runner, str(tmp_path / 'missing.pth'))
    private.mark_runner_loaded(runner)
    Runner.load_or_resume(runner)  # loads nothing: no missing-file error


class _StopPruning(Hook):
    """What NonFiniteLossHook does: take over ``max_keep_ckpts`` when
    training starts."""

    def before_train(self, runner) -> None:
        for hook in runner.hooks:
            if type(hook).__name__ == 'CheckpointHook':
                hook.max_keep_ckpts = -1


def test_visualizer_records_and_checkpoint_pruning(tmp_path):
    """The Runner writes the config through ``visualizer.add_config`` while
    it is built and the logger writes ``add_scalars`` (the two methods
    ``skip_records_when`` wraps), and ``CheckpointHook`` reads its public
    ``max_keep_ckpts`` at every save (NonFiniteLossHook takes it over)."""
    from mmengine.config import Config
    calls = []

    def recording(what, write):

        def record(*args, **kwargs):
            calls.append(what)
            return write(*args, **kwargs)

        return record

    class Recording(Runner):

        def build_visualizer(self, visualizer=None):
            built = super().build_visualizer(visualizer)
            private.skip_records_when(built, recording)
            return built

    runner = Recording(
        model=_Toy(),
        work_dir=str(tmp_path),
        cfg=Config(dict(a=1)),
        experiment_name='pin_visualizer',
        train_dataloader=dict(
            dataset=_Points(),
            batch_size=1,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(
                type='CheckpointHook', interval=1, max_keep_ckpts=1)),
        custom_hooks=[dict(type=_StopPruning)])
    assert calls == ["the visualizer's config"]
    runner.train()
    assert "the visualizer's scalars" in calls
    assert all(
        osp.isfile(osp.join(tmp_path, f'epoch_{e}.pth')) for e in (1, 2, 3))


def test_visualizer_records_tolerate_only_the_errors_named(tmp_path):
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, 'No space left on device')

    def denied(*args, **kwargs):
        raise OSError(errno.EACCES, 'Permission denied')

    tolerate = private.warn_instead((errno.ENOSPC, ))
    assert tolerate('the record', full)() is None
    with pytest.raises(OSError, match='Permission denied'):
        tolerate('the record', denied)()


def test_fsdp_strategy_private_hooks():
    """``FSDPStrategy`` is importable only from ``mmengine._strategy``; it
    builds its state-dict configs in ``_init_state_dict_cfg`` (offloading a
    full state to the CPU) and wraps in ``_wrap_model(model)``, the two
    methods CPUCapableFSDPStrategy overrides."""
    import inspect

    from mmengine._strategy import FSDPStrategy
    assert list(inspect.signature(
        FSDPStrategy._wrap_model).parameters) == ['self', 'model']
    stock = FSDPStrategy(state_dict_cfg='full')
    assert stock.state_dict_config.offload_to_cpu is True
    assert stock.optim_state_dict_config.offload_to_cpu is True
    ours = private.CPUCapableFSDPStrategy(state_dict_cfg='full')
    expected = torch.cuda.is_available()
    assert ours.state_dict_config.offload_to_cpu is expected
    assert ours.optim_state_dict_config.offload_to_cpu is expected


def test_optim_wrapper_clips_through_clip_func():
    """``OptimWrapper`` keeps torch's norm clipping as ``clip_func``, which
    SafeFSDPStrategy replaces with FSDP's global-norm clipping."""
    model = torch.nn.Linear(2, 1)
    wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.1),
        clip_grad=dict(max_norm=1.0))
    assert wrapper.clip_func is torch.nn.utils.clip_grad_norm_
    seen = []
    wrapper.clip_func = lambda params, **kw: seen.append(kw) or torch.ones(())
    model(torch.ones(1, 2)).sum().backward()
    wrapper.step()
    assert seen and seen[0]['max_norm'] == 1.0

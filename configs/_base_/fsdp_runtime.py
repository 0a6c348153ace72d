# Sharded training (what `tools/train.py --fsdp` sets; equal to
# mmsemanticmim.engine.FSDP_RUNTIME, which a test checks): mmengine's
# FlexibleRunner (our crash-safe SafeFlexibleRunner) with FSDPStrategy (our
# SafeFSDPStrategy: it runs without CUDA and clips the global norm), one
# FSDP unit per transformer layer of both stacks, the original parameters
# kept for per-parameter optimizer groups (no-decay keys, layer decay), and
# every checkpoint one full file gathered on rank 0.
# (our default runtime, with the runner and strategy for sharding)
_base_ = './default_runtime.py'

runner_type = 'SafeFlexibleRunner'
strategy = dict(
    type='SafeFSDPStrategy',
    model_wrapper=dict(
        type='MMFullyShardedDataParallel',
        use_orig_params=True,
        auto_wrap_policy=dict(type='semanticmim_wrap_transformer_layers')),
    state_dict_cfg='full')
# (A config with AMP also sets optim_wrapper.use_fsdp=True: the loss scaler
# must see every shard, FSDP's ShardedGradScaler; --fsdp does it itself.)

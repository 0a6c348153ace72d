"""Registries of the ``mmsemanticmim`` scope.

Each node is a child of mmpretrain's node of the same name, so a config with
``default_scope='mmsemanticmim'`` finds mmpretrain's components by their bare
names (``LinearNeck``, ``HOGGenerator``, ...), while mmseg and mmdet configs
reach ours as ``mmsemanticmim.Name`` once they import the package
(``custom_imports=dict(imports=['mmsemanticmim'])``). mmengine resolves that
name by importing it (a scope that is not the root's direct child falls back
to ``get_object_from_string``), which is why the package's top level exports
every component registered in these nodes (mmpretrain's are
``mmpretrain.Name`` there).
"""
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'TASK_UTILS',
    'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS'
]

_SCOPE = 'mmsemanticmim'


def _child(name: str, parent: Registry, package: str) -> Registry:
    """A node of our scope under mmpretrain's ``parent``.

    Its lazy-import locations are ours plus the parent's: mmengine imports
    only the locations of the node it builds from, so without mmpretrain's a
    bare name such as ``VisualizationHook`` would not be registered yet.
    """
    locations = [f'{_SCOPE}.{package}'] if package else []
    return Registry(
        name,
        parent=parent,
        scope=_SCOPE,
        locations=locations + list(parent._locations))


_p = mmpretrain_registry
RUNNERS = _child('runner', _p.RUNNERS, 'engine')
RUNNER_CONSTRUCTORS = _child('runner constructor', _p.RUNNER_CONSTRUCTORS,
                             'engine')
LOOPS = _child('loop', _p.LOOPS, 'engine')
HOOKS = _child('hook', _p.HOOKS, 'engine')
LOG_PROCESSORS = _child('log processor', _p.LOG_PROCESSORS, 'engine')
OPTIMIZERS = _child('optimizer', _p.OPTIMIZERS, 'engine')
OPTIM_WRAPPERS = _child('optim wrapper', _p.OPTIM_WRAPPERS, 'engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    _p.OPTIM_WRAPPER_CONSTRUCTORS, 'engine')
PARAM_SCHEDULERS = _child('parameter scheduler', _p.PARAM_SCHEDULERS, 'engine')
DATASETS = _child('dataset', _p.DATASETS, 'datasets')
DATA_SAMPLERS = _child('data sampler', _p.DATA_SAMPLERS, 'datasets')
TRANSFORMS = _child('transform', _p.TRANSFORMS, 'datasets')
MODELS = _child('model', _p.MODELS, 'models')
MODEL_WRAPPERS = _child('model_wrapper', _p.MODEL_WRAPPERS, 'models')
WEIGHT_INITIALIZERS = _child('weight initializer', _p.WEIGHT_INITIALIZERS,
                             'models')
BATCH_AUGMENTS = _child('batch augment', _p.BATCH_AUGMENTS, 'models')
TASK_UTILS = _child('task util', _p.TASK_UTILS, 'models')
# mmsemanticmim has no metrics or visualizers of its own: mmpretrain's serve.
METRICS = _child('metric', _p.METRICS, None)
EVALUATORS = _child('evaluator', _p.EVALUATORS, None)
VISUALIZERS = _child('visualizer', _p.VISUALIZERS, None)
VISBACKENDS = _child('vis_backend', _p.VISBACKENDS, None)

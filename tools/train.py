"""Train any mmsemanticmim config: pre-training (mmpretrain scope) and the
downstream mmpretrain / mmseg / mmdet configs alike; the config's
``default_scope`` decides which toolbox's registries build it."""
import mmsemanticmim  # noqa: F401  (registers the components)
from mmsemanticmim.engine import build_train_parser, run_train


def main():
    run_train(build_train_parser().parse_args())


if __name__ == '__main__':
    main()

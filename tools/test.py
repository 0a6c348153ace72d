"""Evaluate a checkpoint with any mmsemanticmim config (mmpretrain, mmseg or
mmdet scope: the config's ``default_scope`` decides)."""
import mmsemanticmim  # noqa: F401  (registers the components)
from mmsemanticmim.engine import build_test_parser, run_test


def main(argv=None):
    print(run_test(build_test_parser().parse_args(argv)))


if __name__ == '__main__':
    main()

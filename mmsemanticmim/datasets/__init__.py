from .data_root_check import DataRootError, check_data_roots  # noqa: F401
from .transforms import *  # noqa: F401,F403

"""Old home of `gates.prometheus`, kept because the SLO gate's pickled provider holds its `Credentials` under
this module path in stacks deployed before the move. Remove with the other shims (README, "Moved modules")."""

import sys

from gates import prometheus

sys.modules[__name__] = prometheus

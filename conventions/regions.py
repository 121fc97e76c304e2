"""The shape of an AWS region name: the settings check a stack file's regions by it and the data
components' configs check theirs."""

from __future__ import annotations

import re

AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")

"""The cluster team's stack as the engine tests need it: it exports the stand-in outputs the offline render
reads from stacks/offline/stack_references.yaml (the file named by config `references`), so the engine run
and the offline render of agent-platform read the same values; the kubeconfig as a secret, as EKS stacks do."""

from pathlib import Path

import pulumi
import yaml

config = pulumi.Config()
references = yaml.safe_load(Path(config.require("references")).read_text())
name = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
for key, value in references[name].items():
    pulumi.export(key, pulumi.Output.secret(value) if key == "kubeconfig" else value)

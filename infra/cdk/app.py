"""The CDK app: one Rapport stack, synthesised offline from ``infra/template.yaml``.

    make cdk-synth                      # after `make build`: the cloud assembly in build/cdk
    cdk deploy --app build/cdk --parameters SenderAddress=digest@example.com

The environment name comes from the context value ``environment`` (``-c environment=prod``) or
``RAPPORT_ENVIRONMENT``, default ``dev``: it names the stack (``rapport-<env>``, as ``sam deploy``
does) and is fixed as the template's ``EnvironmentName``. Every other template parameter stays a
stack parameter with the template's default.
"""

from __future__ import annotations

import os

import aws_cdk as cdk

from rapport_cdk import RapportStack


def main(outdir: str | None = None) -> cdk.App:
    # No CDKMetadata resource: the stack holds the template's resources and nothing else.
    app = cdk.App(outdir=outdir, analytics_reporting=False)
    environment = str(
        app.node.try_get_context("environment") or os.environ.get("RAPPORT_ENVIRONMENT", "dev")
    )
    RapportStack(app, f"rapport-{environment}", parameters={"EnvironmentName": environment})
    app.synth()
    return app


if __name__ == "__main__":
    main()

"""How a team embeds Rapport in its own CDK app: a stack of its own, with Rapport inside it.

Here the team's producer role may send events to Rapport's events queue; any included resource
is reachable by its logical id in ``infra/template.yaml`` (or the id SAM gives what it generates).
``tests/integration/test_cdk.py`` synthesises this app and checks that Rapport arrives unchanged.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from rapport_cdk import RapportConstruct


class TeamStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        rapport = RapportConstruct(self, "Rapport")
        producer = iam.Role(
            self, "Producer", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
        )
        producer.add_to_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage"],
                resources=[rapport.resource("EventsQueue").get_att("Arn").to_string()],
            )
        )


def main(outdir: str | None = None) -> cdk.App:
    app = cdk.App(outdir=outdir, analytics_reporting=False)
    TeamStack(app, "team-with-rapport")
    app.synth()
    return app


if __name__ == "__main__":
    main()

"""A local AWS: moto server, resources from the SAM template, and Lambda event-source semantics."""

"""Rapport's one DynamoDB table: item shapes (``items``), keys (``keys``) and the stores on them.

Nothing outside this package spells an attribute-value type tag or an item kind.
"""

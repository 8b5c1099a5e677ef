"""Tortoise models and the queries that need SQL: the only package that imports tortoise."""

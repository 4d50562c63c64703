"""The interchange contract as data: entities, code lists, suites and mapping profiles."""

"""Mappings of the standard CRM exports (`salesops calibrate --preset NAME`): one YAML per tool.

The file format is `engine.data.exports.ExportMapping`; docs/crm-presets.md lists the columns.
"""

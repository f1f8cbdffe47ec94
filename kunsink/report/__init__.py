"""The deliverable: a bilingual baseline report built from a run's results.

:func:`~kunsink.report.build.build_report` assembles a :class:`~kunsink.report.document.Document`
from results in memory; :func:`~kunsink.report.write.write_report` renders it as one offline HTML page,
a Word document and a PDF.
"""

from .build import INTERNAL_USE_NOTE, REPORT_SECTIONS, ReportInputs, build_report
from .document import Document, Text
from .write import REPORT_FORMATS, write_report

__all__ = [
           "INTERNAL_USE_NOTE",
           "REPORT_FORMATS",
           "REPORT_SECTIONS",
           "Document",
           "ReportInputs",
           "Text",
           "build_report",
           "write_report",
]

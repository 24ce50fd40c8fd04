"""Teaching: the checker that marks a hand-computed solution, class marking, exercises and one
variant per student, LMS export, the quiz, and the seed deck's own figures checked.

May import: stepgrad.formats, stepgrad.pictures, stepgrad.tracing, stepgrad.training, stepgrad.core.
"""

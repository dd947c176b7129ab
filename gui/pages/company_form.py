"""The company profile form: every field validated as typed and saved as typed.

A draft is saved even while a field is invalid (the operator never loses typing); the
``validity_changed`` signal tells the wizard whether later steps may open.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from core.project import CompanyProfile, Project
from core.project.profile import parse_roles

SAVE_DELAY_MS = 400


class CompanyForm(QWidget):
    validity_changed = Signal(bool)
    saved = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self._loading = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_DELAY_MS)
        self._timer.timeout.connect(self.save_now)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(16)

        box = QGroupBox("About the company")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.errors: dict[str, QLabel] = {}

        self.company_name = QLineEdit()
        self.company_name.setPlaceholderText("Harbourview Lettings")
        self._add(form, "company_name", "Company name", self.company_name)
        self.description = QPlainTextEdit()
        self.description.setPlaceholderText(
            "What the business does, in a sentence or two. For example: We let and manage "
            "homes for private landlords in Portsmouth.")
        self.description.setFixedHeight(90)
        self._add(form, "description", "What you do", self.description)
        self.customer_roles = QLineEdit()
        self.customer_roles.setPlaceholderText("tenant, owner, prospect")
        self._add(form, "customer_roles", "Customer roles", self.customer_roles,
                  "Who writes to you, separated by commas. Each becomes a role the "
                  "assistant recognises.")
        self.tone_target = QDoubleSpinBox()
        self.tone_target.setRange(0, 100)
        self.tone_target.setDecimals(0)
        self.tone_target.setValue(75)
        self.tone_target.setSuffix("  Flesch reading ease")
        self.tone_target.setMaximumWidth(220)
        self._add(form, "tone_target", "Tone target", self.tone_target,
                  "How easy answers must be to read: 60 is plain English, 75 is a friendly "
                  "email, 90 is very simple. Training data below it is rewritten or dropped.")
        self.policies = QPlainTextEdit()
        self.policies.setPlaceholderText(
            "One rule per line, with exact figures. For example:\n"
            "Late rent costs a fee of £25 after 7 days.\n"
            "We never give out an owner's phone number.")
        self._add(form, "policies", "Policies", self.policies,
                  "The assistant must follow these; answers are checked against them.")
        self.saved_label = QLabel("")
        self.saved_label.setObjectName("saved")
        form.addRow(self.saved_label)
        layout.addWidget(box, 3)

        preview_box = QGroupBox("System prompt preview")
        column = QVBoxLayout(preview_box)
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        column.addWidget(self.preview, 1)
        self.preview_stats = QLabel("")
        self.preview_stats.setObjectName("hint")
        self.preview_stats.setWordWrap(True)
        column.addWidget(self.preview_stats)
        note = QLabel("Built from the profile and given to the assistant before every "
                      "conversation. The customer's role goes in each message's header.")
        note.setObjectName("hint")
        note.setWordWrap(True)
        column.addWidget(note)
        layout.addWidget(preview_box, 2)

        for edit in (self.company_name, self.customer_roles):
            edit.textEdited.connect(self._changed)
        for text in (self.description, self.policies):
            text.textChanged.connect(self._changed)
        self.tone_target.valueChanged.connect(self._changed)

    # --- public -----------------------------------------------------------------
    def load(self, project: Project) -> None:
        self.project = project
        profile = project.profile()
        self._loading = True
        self.company_name.setText(profile.company_name)
        self.description.setPlainText(profile.description)
        self.customer_roles.setText(", ".join(profile.customer_roles))
        self.tone_target.setValue(profile.tone_target)
        self.policies.setPlainText(profile.policies)
        self._loading = False
        self.saved_label.setText("")
        self._show(profile)

    def profile(self) -> CompanyProfile:
        return CompanyProfile(
            company_name=self.company_name.text(),
            description=self.description.toPlainText(),
            customer_roles=parse_roles(self.customer_roles.text()),
            tone_target=float(self.tone_target.value()),
            policies=self.policies.toPlainText(),
        )

    def is_valid(self) -> bool:
        return not self.profile().validate()

    def has_pending_save(self) -> bool:
        return self._timer.isActive()

    def save_now(self) -> None:
        self._timer.stop()
        if self.project is None:
            return
        self.project.save_profile(self.profile())
        self.saved_label.setText("All changes saved.")
        self.saved.emit()

    # --- internals --------------------------------------------------------------
    def _add(self, form: QFormLayout, key: str, label: str, widget: QWidget,
             hint: str = "") -> None:
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(widget)
        if hint:
            hint_label = QLabel(hint)
            hint_label.setObjectName("hint")
            hint_label.setWordWrap(True)
            column.addWidget(hint_label)
        error = QLabel("")
        error.setObjectName("fieldError")
        error.setWordWrap(True)
        error.hide()
        column.addWidget(error)
        self.errors[key] = error
        form.addRow(label, column)

    def _changed(self) -> None:
        if self._loading:
            return
        self.saved_label.setText("Saving…")
        self._show(self.profile())
        self._timer.start()

    def _show(self, profile: CompanyProfile) -> None:
        problems = profile.validate()
        widgets = {"company_name": self.company_name, "description": self.description,
                   "customer_roles": self.customer_roles, "policies": self.policies}
        for key, label in self.errors.items():
            message = problems.get(key, "")
            label.setText(message)
            label.setVisible(bool(message))
            if key in widgets:
                widgets[key].setProperty("invalid", bool(message))
                widgets[key].style().polish(widgets[key])
        prompt = profile.system_prompt()
        self.preview.setPlainText(prompt)
        self.preview_stats.setText(_prompt_stats(prompt))
        self.validity_changed.emit(not problems)


def _prompt_stats(prompt: str) -> str:
    from core.readability import flesch_reading_ease

    words = len(prompt.split())
    return f"{words} words · Flesch reading ease {flesch_reading_ease(prompt):.0f}"

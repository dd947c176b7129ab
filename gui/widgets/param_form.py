"""The Advanced panel: every training hyperparameter, drawn from core's table, checked as typed.

The table (core.training.params.schema) says each field's type, range and one-line
explanation, so this widget holds no knowledge of its own about hyperparameters: a setting
added to core appears here. Numbers are typed into line edits, not spin boxes, because
learning rates such as 5e-6 need scientific notation. A value that fails core's check is
shown in red with core's message under the field, and is left out of ``overrides``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core.errors import ValidationError

STAGE_TITLES = {"all": "Every run", "sft": "Supervised fine-tuning",
                "preference": "Preference training (IPO / DPO)", "lora": "LoRA"}


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class ParamForm(QScrollArea):
    changed = Signal()

    def __init__(self, schema: list[dict[str, Any]], validate: Any,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self._schema = {p["name"]: p for p in schema}
        self._validate = validate  # core.training.params.validate_value
        self._base: dict[str, Any] = {}
        self._overrides: dict[str, Any] = {}
        self._errors: dict[str, str] = {}
        self.fields: dict[str, QWidget] = {}
        self.error_labels: dict[str, QLabel] = {}
        self.groups: dict[str, QGroupBox] = {}
        body = QWidget()
        column = QVBoxLayout(body)
        forms: dict[str, QFormLayout] = {}
        for stage, title in STAGE_TITLES.items():
            group = QGroupBox(title)
            forms[stage] = QFormLayout(group)
            self.groups[stage] = group
            column.addWidget(group)
        column.addStretch(1)
        for name, param in self._schema.items():
            field = self._make_field(name, param)
            field.setToolTip(param["help"])
            error = QLabel()
            error.setObjectName("fieldError")
            error.setWordWrap(True)
            error.hide()
            explain = QLabel(param["help"])
            explain.setObjectName("hint")
            explain.setWordWrap(True)
            holder = QWidget()
            inner = QVBoxLayout(holder)
            inner.setContentsMargins(0, 0, 0, 4)
            inner.setSpacing(1)
            inner.addWidget(field)
            inner.addWidget(explain)
            inner.addWidget(error)
            forms[param.get("stage", "all")].addRow(name.replace("_", " "), holder)
            self.fields[name] = field
            self.error_labels[name] = error
        self.setWidget(body)

    # --- public ---------------------------------------------------------------------------
    def set_values(self, values: dict[str, Any], keep_overrides: bool = True) -> None:
        """Show the values a run would use (preset and method resolved); the operator's own
        changes stay on top unless ``keep_overrides`` is False."""
        self._base = dict(values)
        if not keep_overrides:
            self._overrides.clear()
            self._errors.clear()
        for name, field in self.fields.items():
            if name in self._errors:
                continue
            value = self._overrides.get(name, self._base.get(name, self._schema[name]["default"]))
            self._show(field, value)
        self._refresh_errors()

    def set_value(self, name: str, value: Any) -> None:
        """Type a value into a field, as the operator would (tests and presets use it)."""
        field = self.fields[name]
        if isinstance(field, QCheckBox):
            field.setChecked(bool(value))
        elif isinstance(field, QComboBox):
            field.setCurrentText(str(value))
        else:
            assert isinstance(field, QLineEdit)
            field.setText(format_value(value))
            self._edited(name, field.text())

    def value(self, name: str) -> Any:
        """The value a run would use for ``name``: the operator's, else the preset's."""
        return self._overrides.get(name, self._base.get(name, self._schema[name]["default"]))

    def overrides(self) -> dict[str, Any]:
        """The values the operator changed from the preset, each already validated."""
        return dict(self._overrides)

    def errors(self) -> dict[str, str]:
        return dict(self._errors)

    def show_stages(self, stages: set[str]) -> None:
        for stage, group in self.groups.items():
            group.setVisible(stage in stages)

    def show_error(self, name: str, message: str) -> None:
        """An error core found that ties fields together (e.g. lora_alpha against lora_r)."""
        if name in self.error_labels:
            self._errors[name] = message
            self._refresh_errors()

    # --- editing ----------------------------------------------------------------------------
    def _make_field(self, name: str, param: dict[str, Any]) -> QWidget:
        if param["type"] == "bool":
            box = QCheckBox()
            box.toggled.connect(lambda on, n=name: self._edited(n, on))
            return box
        if param["type"] == "choice":
            combo = QComboBox()
            combo.addItems(param["choices"])
            combo.currentTextChanged.connect(lambda text, n=name: self._edited(n, text))
            return combo
        edit = QLineEdit()
        edit.setMaximumWidth(180)
        edit.textEdited.connect(lambda text, n=name: self._edited(n, text))
        return edit

    def _show(self, field: QWidget, value: Any) -> None:
        field.blockSignals(True)
        if isinstance(field, QCheckBox):
            field.setChecked(bool(value))
        elif isinstance(field, QComboBox):
            field.setCurrentText(str(value))
        elif isinstance(field, QLineEdit):
            field.setText(format_value(value))
        field.blockSignals(False)

    def _edited(self, name: str, raw: Any) -> None:
        try:
            value = self._validate(name, raw)
        except ValidationError as exc:
            self._errors[name] = exc.message
            self._overrides.pop(name, None)
        else:
            self._errors.pop(name, None)
            if value == self._base.get(name):
                self._overrides.pop(name, None)
            else:
                self._overrides[name] = value
        self._refresh_errors()
        self.changed.emit()

    def _refresh_errors(self) -> None:
        for name, label in self.error_labels.items():
            message = self._errors.get(name, "")
            label.setText(message)
            label.setVisible(bool(message))
            self.fields[name].setProperty("invalid", bool(message))
            self.fields[name].style().unpolish(self.fields[name])
            self.fields[name].style().polish(self.fields[name])

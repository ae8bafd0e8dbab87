"""The upload form of the import page."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tugi.people.imports.files import MAX_BYTES
from tugi.people.models import DataImport


class ImportUploadForm(forms.Form):
    """Which kind of file, and the file; the import itself decides whether its content is usable."""

    kind = forms.ChoiceField(
        label=_("The file is"),
        choices=DataImport.Kind.choices,
        widget=forms.RadioSelect,
        initial=DataImport.Kind.PERSONS,
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "CSV (UTF-8, separated by ; or ,) or Excel XLSX, with a heading row. "
            "Nothing changes until you have seen the preview and applied it."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )

    def __init__(self, *args: Any, kinds: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kinds is not None:
            field = self.fields["kind"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [(k, v) for k, v in DataImport.Kind.choices if k in kinds]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB: split it into parts.")
                % {"mb": MAX_BYTES // (1024 * 1024)}
            )
        return upload

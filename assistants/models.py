from django.db import models
from django.utils import timezone


class ServiceVocabulary(models.Model):
    """The words users say for a service's things, which its spec does not use: read by
    the offline assistant before anything else (grounding.vocabulary). Edited on the
    service's admin page."""

    service = models.OneToOneField("registry.Service", on_delete=models.CASCADE, primary_key=True,
                                   related_name="vocabulary")
    aliases = models.TextField(
        blank=True,
        help_text="One line per word of the API: the word, a colon, then the words users say for it, "
                  "comma-separated. For example: performer: actor, cast member",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "vocabulary"
        verbose_name_plural = "vocabulary"

    def __str__(self):
        return f"vocabulary of {self.service_id}"

from django.core.validators import URLValidator
from django.urls import reverse
from rest_framework import serializers

from .models import Photo, image_source_error


class UserInfoSerializer(serializers.Serializer):
    """The OpenAPI description of User.userinfo(), which the view returns."""

    sub = serializers.CharField(source="subject", help_text="Stable identifier of the resource owner.")
    username = serializers.CharField(source="get_username")
    email = serializers.EmailField()
    name = serializers.CharField(source="get_full_name")


class PhotoSerializer(serializers.ModelSerializer):
    # DRF drops the model's URLValidator (and its schemes) in favour of its own, which allows ftp.
    image_url = serializers.URLField(max_length=2000, required=False, allow_blank=True,
                                     validators=[URLValidator(schemes=["http", "https"])])

    class Meta:
        model = Photo
        fields = ["id", "title", "image_url", "image", "created"]
        read_only_fields = ["id", "created"]
        extra_kwargs = {"image": {"help_text": "An uploaded image (multipart/form-data). Read back as the URL "
                                               "that serves it to the same bearer token."}}

    def validate(self, attrs):
        current = self.instance
        image_url = attrs.get("image_url", current.image_url if current else "")
        image = attrs.get("image", current.image if current else None)
        error = image_source_error(image_url=image_url, image=image)
        if error:
            raise serializers.ValidationError(error)
        return attrs

    def to_representation(self, photo):
        data = super().to_representation(photo)
        data["image"] = self._image_link(photo) if photo.image else None
        return data

    def _image_link(self, photo):
        path = reverse("resources:photo-image", args=[photo.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

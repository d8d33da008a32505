"""What removal planning needs beyond the list page: every image, intermediate ones included."""

from __future__ import annotations

from images_app.engine.client import client_for, translate_errors
from images_app.engine.images import _image_from_api
from images_app.engine.types import Endpoint, ImageInfo


def list_images_all(endpoint: Endpoint) -> list[ImageInfo]:
    """`docker image ls -a` (one API call): intermediate images too, so parent chains are complete.

    The engine refuses to delete an image other images are built on, and deleting a
    child also deletes its untagged parents: planning must see the whole chain.
    """
    client = client_for(endpoint)
    with translate_errors(endpoint):
        raw = client.images(all=True)
    return [_image_from_api(item) for item in raw]

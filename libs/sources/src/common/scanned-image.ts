import type { Artifact, Asset } from '@klaxon/findings';
import type { SourceMeta } from '../source';
import { OCI_REVISION, OCI_SOURCE, parseImageRef, repoName } from './image-ref';

/** What an image scanner's report says about the image itself (Trivy's Metadata, syft's ImageMetadata). */
export interface ScannedImage {
  labels: Record<string, string>;
  /** `repository:tag` references the scanner lists; only those of the scanned repository are its tags. */
  repoTags: string[];
  /** The repo the upload context names; else the image's OCI source label says. */
  repo?: string;
}

/** The scanned image as an asset and, from the upload context or its OCI labels, the build it came from. */
export function scannedImageAssets(artifact: Artifact | undefined, image: ScannedImage, meta: SourceMeta): Asset[] {
  if (!artifact?.digest) return [];
  const { labels } = image;
  const tags = image.repoTags
    .map(parseImageRef)
    .filter((r) => r.repository === artifact.repository && r.tag)
    .map((r) => r.tag!);
  const build = {
    repo: image.repo ?? (labels[OCI_SOURCE] ? repoName(labels[OCI_SOURCE]) : undefined),
    commit: meta.context.commit ?? labels[OCI_REVISION],
    branch: meta.context.branch,
    pullRequests: meta.context.pr === undefined ? [] : [meta.context.pr],
  };
  const hasBuild = build.repo || build.commit || build.branch || build.pullRequests.length > 0;
  return [
    {
      type: 'image',
      digest: artifact.digest,
      registry: artifact.registry,
      repository: artifact.repository,
      tags: [...new Set([...(artifact.tag ? [artifact.tag] : []), ...tags])],
      labels,
      build: hasBuild ? build : undefined,
      observedAt: meta.receivedAt,
    },
  ];
}

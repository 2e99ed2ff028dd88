// The image is named in one place (kustomization.yaml's images:) and its tag is the package version,
// which is also what `make image` tags and labels.

import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { daemonSetPod, packageVersion } from './rendered.js';

interface Kustomization {
  images?: { name: string; newName?: string; newTag?: string }[];
}

describe('deploy: the image reference', () => {
  const kustomization = parse(readFileSync('deploy/kustomization.yaml', 'utf8')) as Kustomization;

  it('kustomization.yaml tags the image with package.json version', () => {
    expect(kustomization.images).to.have.length(1);
    expect(kustomization.images![0]!.newTag).to.equal(packageVersion());
  });

  it('the rendered DaemonSet runs that image, and daemonset.yaml names it without a tag', async () => {
    const [entry] = kustomization.images!;
    const pod = await daemonSetPod();
    expect(pod.containers.map((c) => c.image)).to.deep.equal([
      `${entry!.newName ?? entry!.name}:${packageVersion()}`,
    ]);
    const raw = readFileSync('deploy/daemonset.yaml', 'utf8');
    expect(raw).to.match(new RegExp(`^\\s+image: ${entry!.name}(\\s|$)`, 'm'));
  });

  it('the Dockerfile labels the image with the VERSION build argument, which image/build.sh sets', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    expect(dockerfile).to.include('org.opencontainers.image.version="${VERSION}"');
    const build = readFileSync('image/build.sh', 'utf8');
    expect(build).to.include('VERSION=$(node -p \'require("./package.json").version\')');
    expect(build).to.include('--build-arg "VERSION=$VERSION" -t "$IMAGE:$VERSION"');
  });

  it('make deploy IMAGE=... renders the same objects with only the image renamed', async () => {
    const { stdout } = await execa('bash', ['hack/deploy.sh', 'render'], {
      env: { IMAGE: 'registry.example.com/net/multi-networkpolicy-tc' },
    });
    const images = [...stdout.matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1]);
    expect(images).to.deep.equal([`registry.example.com/net/multi-networkpolicy-tc:${packageVersion()}`]);
    const [entry] = kustomization.images!;
    const plain = (await execa(process.env.KUBECTL ?? 'kubectl', ['kustomize', 'deploy/'])).stdout;
    expect(stdout.replace(images[0]!, `${entry!.newName}:${entry!.newTag}`)).to.equal(plain);
  });
});

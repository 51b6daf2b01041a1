// A small preview of an image Blob. Each mounted thumbnail owns its object URL and revokes it when it unmounts
// (removed from the composer, sent, or the page's message list goes away).
import { useEffect, useState } from 'react';

function useObjectUrl(blob: Blob): string | undefined {
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    const made = URL.createObjectURL(blob);
    setUrl(made);
    return () => {
      URL.revokeObjectURL(made);
      setUrl(undefined);
    };
  }, [blob]);
  return url;
}

export function Thumbnail({ blob, alt }: { blob: Blob; alt: string }) {
  const url = useObjectUrl(blob);
  const [broken, setBroken] = useState(false);
  if (!url) return <span className="thumb thumb-pending" role="img" aria-label={alt} />;
  if (broken) {
    // The browser cannot show it (corrupt or unsupported); the worker says why when the message is sent.
    return (
      <span className="thumb thumb-broken" role="img" aria-label={`${alt} (cannot be previewed)`}>
        ?
      </span>
    );
  }
  return <img className="thumb" src={url} alt={alt} onError={() => setBroken(true)} />;
}

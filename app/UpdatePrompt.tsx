// The service worker's news: the app is ready to work offline, or a new build was deployed and a reload will use it.
import { useEffect, useState } from 'react';
import { registerSW } from 'virtual:pwa-register';

let update: ((reload?: boolean) => Promise<void>) | null = null;

/** `canRun`: the engine found a GPU it can use (the offline note is only news when the app can run at all). */
export function UpdatePrompt({ canRun }: { canRun: boolean }) {
  const [needRefresh, setNeedRefresh] = useState(false);
  const [offlineReady, setOfflineReady] = useState(false);

  useEffect(() => {
    if (update || !('serviceWorker' in navigator)) return;
    update = registerSW({
      immediate: true,
      onNeedRefresh: () => setNeedRefresh(true),
      onOfflineReady: () => setOfflineReady(true),
      onRegisterError: (error: unknown) => console.warn('The offline service worker could not be registered', error),
    });
  }, []);

  if (!needRefresh && !(offlineReady && canRun)) return null;
  return (
    <div className="update-prompt" aria-live="polite" data-update={needRefresh ? 'available' : 'offline-ready'}>
      {needRefresh ? (
        <>
          <span>A new version of TabScout is available.</span>
          <button type="button" onClick={() => void update?.(true)}>
            Reload to update
          </button>
          <button type="button" onClick={() => setNeedRefresh(false)}>
            Later
          </button>
        </>
      ) : (
        <>
          <span>TabScout now works offline, with the built-in model.</span>
          <button type="button" onClick={() => setOfflineReady(false)}>
            Dismiss
          </button>
        </>
      )}
    </div>
  );
}

// The user's settings: system prompt, sampling, reply length, and the GPU memory budget for experts. Saved in
// this browser; values the page URL pins are marked as such.
import { memo, useEffect, useState, type FormEvent } from 'react';
import { cleanSettings, type Settings, type UserSettings } from './settings.ts';

export const SettingsPanel = memo(function SettingsPanel({ user, settings, onSave }: { user: UserSettings; settings: Settings; onSave: (next: UserSettings) => Promise<void> }) {
  const [form, setForm] = useState(user);
  const [saved, setSaved] = useState<string>('');
  useEffect(() => setForm(user), [user]);

  const isPinned = (key: keyof UserSettings) => settings.pinned.includes(key);
  const pinned = (key: keyof UserSettings) =>
    isPinned(key) ? <span className="pinned"> (in force: set by this page's URL; your saved value applies without it)</span> : null;
  /** what is in force for a setting the URL pins (shown, read-only, instead of the saved value) */
  const inForce: Partial<Record<keyof UserSettings, number | string>> = {
    system: settings.system,
    temperature: settings.sampling.temperature,
    topP: settings.sampling.topP,
    maxNewTokens: settings.sampling.maxNewTokens,
    expertBudgetMiB: settings.expertBudgetMiB,
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    const clean = cleanSettings(form);
    setForm(clean);
    try {
      await onSave(clean);
      setSaved('Settings saved.');
    } catch (error) {
      setSaved(`Could not save the settings: ${(error as Error).message}`);
    }
  }

  const num = (key: 'temperature' | 'topP' | 'maxNewTokens' | 'expertBudgetMiB') => ({
    value: isPinned(key) ? String(inForce[key]) : Number.isFinite(form[key]) ? String(form[key]) : '',
    readOnly: isPinned(key),
    onChange: (event: React.ChangeEvent<HTMLInputElement>) => {
      setSaved('');
      setForm({ ...form, [key]: event.target.value === '' ? NaN : Number(event.target.value) });
    },
  });

  return (
    <form className="panel-form" onSubmit={submit} aria-label="Settings">
      <label>
        System prompt{pinned('system')}
        <textarea
          rows={3}
          value={isPinned('system') ? String(inForce.system) : form.system}
          readOnly={isPinned('system')}
          placeholder="e.g. You are a concise assistant."
          onChange={(event) => {
            setSaved('');
            setForm({ ...form, system: event.target.value });
          }}
        />
      </label>
      <label>
        Temperature{pinned('temperature')}
        <input type="number" min={0} max={2} step={0.05} {...num('temperature')} />
      </label>
      <label>
        Top-p{pinned('topP')}
        <input type="number" min={0} max={1} step={0.05} {...num('topP')} />
      </label>
      <label>
        Max new tokens{pinned('maxNewTokens')}
        <input type="number" min={1} step={1} {...num('maxNewTokens')} />
      </label>
      <label>
        GPU memory for experts (MiB, 0 = automatic){pinned('expertBudgetMiB')}
        <input type="number" min={0} step="any" {...num('expertBudgetMiB')} />
      </label>
      <p className="panel-note">
        The expert budget caps the GPU memory for routed experts. When it holds fewer experts than the model has, experts are
        paged in as tokens need them (the statistics show the cache hit rate). It applies the next time a model is loaded.
      </p>
      <div className="panel-actions">
        <button type="submit">Save settings</button>
        <span className="panel-saved" aria-live="polite">
          {saved}
        </span>
      </div>
    </form>
  );
});

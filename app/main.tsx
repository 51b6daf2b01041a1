import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { readSettings } from './settings.ts';
import './styles.css';

const settings = readSettings(window.location);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App settings={settings} />
  </StrictMode>,
);

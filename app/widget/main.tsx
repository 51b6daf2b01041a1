// The widget page (widget.html): ?origins=<allowed host origins>&model=…&autoload=1 plus the page settings of the app.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { readSettings } from '../settings.ts';
import { parseOrigins } from './protocol.ts';
import { Widget } from './Widget.tsx';
import '../styles.css';
import './widget.css';

const query = new URLSearchParams(location.search);
const settings = readSettings(location);
const origins = parseOrigins(query.get('origins'));
const autoload = ['1', 'true', 'yes'].includes((query.get('autoload') ?? '').toLowerCase());

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Widget settings={settings} origins={origins} autoload={autoload} />
  </StrictMode>,
);
